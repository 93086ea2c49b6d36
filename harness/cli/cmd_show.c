/* cmd_show.c: `posbench show FILE.h5`: a readable summary of a results file.
 *
 * Everything it prints is one printable line per field: strings from the file
 * come sanitized from the readers (h5io.h, bench_h5.h), and the file name
 * from the command line is sanitized here (core/text.h), so a file cannot
 * send escape sequences to the terminal or forge lines of the summary. */
#include <stdio.h>
#include <string.h>

#include "../../core/text.h"
#include "args.h"
#include "commands.h"
#include "../results/h5io.h"
#include "../report/kinds.h"

static void show_provenance(hid_t file) {
    static const char *const keys[] = {"posbench_version", "git_commit",  "created_utc", "host",
                                       "cpu_model",        "command_line"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char v[512];
        if (!h5_read_attr_string(file, keys[i], v, sizeof v)) printf("%-17s %s\n", keys[i], v);
    }
}

PbStatus cmd_show(int argc, char **argv) {
    const ArgCommand cmd = {"show", "FILE.h5", "Prints a readable summary of a posbench HDF5 file.", NULL, 1, 1};
    const char *pos[1];
    int npos, help;
    PbStatus st = args_parse(&cmd, argc, argv, pos, &npos, &help);
    if (st || help) return st;
    hid_t file;
    const ResultKind *kind;
    char name[4096];
    if ((st = result_open(&file, &kind, pos[0]))) return st;
    text_sanitize_copy(name, sizeof name, pos[0]); /* printed, never opened */
    printf("%s: %s\n", name, kind->kind);
    show_provenance(file);
    printf("\n");
    if (kind->show) st = kind->show(file, name, stdout);
    H5Fclose(file);
    return st ? st : finish_stdout();
}
