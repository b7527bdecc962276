#include <cblas.h>
// OpenBLAS extensions: thread-pool size control.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
