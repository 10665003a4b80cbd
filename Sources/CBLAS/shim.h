// OpenBLAS's CBLAS interface plus openblas_set_num_threads (found through pkg-config "openblas").
#include <cblas.h>
