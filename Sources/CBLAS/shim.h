#include <cblas.h>
// OpenBLAS extensions: thread-pool size control.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
// Which OpenBLAS build and kernel set run (recorded with results: kernels differ per CPU).
char* openblas_get_config(void);
char* openblas_get_corename(void);
