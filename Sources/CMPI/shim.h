// Open MPI (libopenmpi-dev, pkg-config ompi-c). The handles and constants below are macros over
// C structures (`&ompi_mpi_comm_world`, …) that Swift does not import: these functions return them.
#include <mpi.h>

static inline MPI_Comm tasklora_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype tasklora_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype tasklora_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype tasklora_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Request tasklora_mpi_request_null(void) { return MPI_REQUEST_NULL; }
static inline MPI_Status *tasklora_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline MPI_Errhandler tasklora_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline int tasklora_mpi_success(void) { return MPI_SUCCESS; }
static inline int tasklora_mpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
