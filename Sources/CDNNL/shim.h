// oneDNN 2.x C API (Debian's libdnnl-dev ships no pkg-config file; dnnl.h is on the default
// include path). Debian builds oneDNN on the OpenMP runtime, libgomp.
#include <dnnl.h>
#include <dnnl_debug.h>

// libgomp: the OpenMP team size of the calling thread. tasklora sets it to 1 on every thread that
// calls oneDNN, so oneDNN never starts OpenMP workers of its own (see Kernels/OneDNN.swift).
void omp_set_num_threads(int num_threads);
int omp_get_max_threads(void);

// Macros Swift does not import (a pointer cast, aliases of aliases).
static inline void *tasklora_dnnl_memory_none(void) { return DNNL_MEMORY_NONE; }
static inline int tasklora_dnnl_arg_src(void) { return DNNL_ARG_SRC; }
static inline int tasklora_dnnl_arg_dst(void) { return DNNL_ARG_DST; }
static inline int tasklora_dnnl_arg_weights(void) { return DNNL_ARG_WEIGHTS; }
static inline int tasklora_dnnl_arg_bias(void) { return DNNL_ARG_BIAS; }
static inline int tasklora_dnnl_arg_scratchpad(void) { return DNNL_ARG_SCRATCHPAD; }
static inline int tasklora_dnnl_arg_from(void) { return DNNL_ARG_FROM; }
static inline int tasklora_dnnl_arg_to(void) { return DNNL_ARG_TO; }
