#define TK_VARIANT(name) tk_portable_##name
#include "kernels_body.h"
#include "planes_body.h"
#include "sparse_body.h"
