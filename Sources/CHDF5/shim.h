#include <hdf5.h>
// HDF5's type and property-list "constants" are C comma-expressions that Swift cannot
// import; these inline functions return them (and open the library on first use).
static inline hid_t tl_H5T_NATIVE_FLOAT(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t tl_H5T_NATIVE_DOUBLE(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t tl_H5T_NATIVE_UINT8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t tl_H5T_NATIVE_UINT16(void) { return H5T_NATIVE_UINT16; }
static inline hid_t tl_H5T_NATIVE_INT32(void) { return H5T_NATIVE_INT32; }
static inline hid_t tl_H5T_NATIVE_UINT32(void) { return H5T_NATIVE_UINT32; }
static inline hid_t tl_H5T_NATIVE_INT64(void) { return H5T_NATIVE_INT64; }
static inline hid_t tl_H5T_NATIVE_UINT64(void) { return H5T_NATIVE_UINT64; }
static inline hid_t tl_H5T_IEEE_F32LE(void) { return H5T_IEEE_F32LE; }
static inline hid_t tl_H5T_IEEE_F16LE_make(void) {
    // HDF5 1.10 has no predefined half type; build IEEE binary16 (h5py reads it as float16).
    hid_t t = H5Tcopy(H5T_IEEE_F32LE);
    H5Tset_fields(t, 15, 10, 5, 0, 10);
    H5Tset_size(t, 2);
    H5Tset_ebias(t, 15);
    return t;
}
static inline hid_t tl_H5T_C_S1(void) { return H5T_C_S1; }
static inline size_t tl_H5T_VARIABLE(void) { return H5T_VARIABLE; }
static inline hid_t tl_H5P_DEFAULT(void) { return H5P_DEFAULT; }
static inline hid_t tl_H5S_ALL(void) { return H5S_ALL; }
static inline hid_t tl_H5P_DATASET_CREATE(void) { return H5P_DATASET_CREATE; }
static inline hid_t tl_H5P_FILE_ACCESS(void) { return H5P_FILE_ACCESS; }
static inline unsigned tl_H5F_ACC_RDONLY(void) { return H5F_ACC_RDONLY; }
static inline unsigned tl_H5F_ACC_RDWR(void) { return H5F_ACC_RDWR; }
static inline unsigned tl_H5F_ACC_TRUNC(void) { return H5F_ACC_TRUNC; }
// No atexit clean-up: a file whose write failed (disk full) cannot be closed, and HDF5's exit
// handler crashed flushing it again (segfault after a clean error). Every file tasklora opens
// is closed explicitly; a failed one's temporary is already unlinked.
static inline void tl_H5_silence_errors(void) { H5dont_atexit(); H5open(); H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
// Little-endian file types, so files read the same on every host.
static inline hid_t tl_H5T_STD_U8LE(void) { return H5T_STD_U8LE; }
static inline hid_t tl_H5T_STD_U16LE(void) { return H5T_STD_U16LE; }
static inline hid_t tl_H5T_STD_U32LE(void) { return H5T_STD_U32LE; }
static inline hid_t tl_H5T_STD_I64LE(void) { return H5T_STD_I64LE; }
static inline hid_t tl_H5T_IEEE_F64LE(void) { return H5T_IEEE_F64LE; }
static inline hid_t tl_H5P_LINK_CREATE(void) { return H5P_LINK_CREATE; }
static inline hid_t tl_H5P_ATTRIBUTE_CREATE(void) { return H5P_ATTRIBUTE_CREATE; }
static inline hid_t tl_H5E_DEFAULT(void) { return H5E_DEFAULT; }
// H5Literate is renamed (H5Literate2, H5L_info2_t) in HDF5 1.12+; going through the
// macro here keeps Swift on whichever version the headers map it to.
static inline herr_t tl_H5Literate_by_name_order(hid_t group, H5L_iterate_t op, void *data) {
    return H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, NULL, op, data);
}
