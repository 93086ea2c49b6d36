/* gen_h5_read.c: reading generalization results back (show, plot, run):
 * the small readers gen_h5.h declares; schema in gen_h5.c. */
#include <stdio.h>
#include <string.h>

#include "gen_h5.h"
#include "h5io.h"

/* Splits the `encodings` attribute of g into names; returns the count. The
 * names are group keys, so they are read raw: print them through shown(). */
int gen_read_encodings(hid_t g, char names[][GEN_NAME], int cap) {
    char list[GEN_MAX_ENCODINGS * (GEN_NAME + 1)];
    if (h5_read_attr_raw(g, "encodings", list, sizeof list)) return 0;
    int n = 0;
    for (char *tok = strtok(list, ","); tok && n < cap; tok = strtok(NULL, ","))
        if (h5_exists(g, tok)) snprintf(names[n++], GEN_NAME, "%s", tok);
    return n;
}

/* Reads g/name as floats; *rows x *cols (rank 1: rows 1). */
int gen_read_matrix(hid_t g, const char *name, float **data, int *rows, int *cols) {
    int rank, d[8];
    *data = NULL;
    if (!h5_exists(g, name) || h5_read_floats(g, name, data, &rank, d)) return -1;
    *rows = rank >= 2 ? d[0] : 1;
    *cols = rank >= 2 ? d[1] : d[0];
    return 0;
}
