// node_rank.c — which process of a parallel job this is on its node, for
// picking a GPU. MPI-free, so the library (the CUDA context) can call it.
#include <stdlib.h>
#include "internal.h"

// The first of the launchers' variables that is set and a number >= 0.
int srs_node_local_rank(void) {
    static const char *const vars[] = {"SRS_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID",
                                       "PMI_LOCAL_RANK", "SLURM_LOCALID"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *s = getenv(vars[i]);
        char *end;
        if (!s || !*s) continue;
        long v = strtol(s, &end, 10);
        if (!*end && v >= 0 && v < 1 << 20) return (int)v;
    }
    return 0;
}
