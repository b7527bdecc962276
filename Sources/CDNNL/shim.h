#include <oneapi/dnnl/dnnl.h>
// Debian's libdnnl is built with the OpenMP (libgomp) CPU runtime: oneDNN's parallel regions
// take their team size from the calling thread's OpenMP setting, which these control.
void omp_set_num_threads(int num_threads);
int omp_get_max_threads(void);
