// The module's umbrella header: every kernel family's declarations.
#include "topiary_kernels.h"
#include "topiary_sparse_kernels.h"
#include "topiary_pool.h"
