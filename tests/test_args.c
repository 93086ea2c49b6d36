/* test_args.c: the option parser's accepted forms and its error messages. */
#include <string.h>

#include "../harness/cli/args.h"
#include "check.h"

static int n, flag, given;
static uint64_t seed;
static const char *name, *choice;
static const char *const choices[] = {"gpt2", "bytes", NULL};
static const ArgSpec specs[] = {
    {"--n", NULL, ARG_INT, &n, 1, 100, NULL, "N", "a count", NULL},
    {"--flag", NULL, ARG_FLAG, &flag, 0, 0, NULL, NULL, "a flag", NULL},
    {"--seed", NULL, ARG_U64, &seed, 0, 0, NULL, "K", "a seed", &given},
    {"--output", "-o", ARG_STRING, &name, 0, 0, NULL, "FILE", "a path", NULL},
    {"--tok", NULL, ARG_CHOICE, &choice, 0, 0, choices, "NAME", "a choice", NULL},
    {NULL},
};
static const ArgCommand cmd = {"demo", "[FILE]", "a demo", specs, 0, 1};

static PbStatus parse(const char *line, const char **pos, int *npos, int *help) {
    static char buf[256];
    static char *argv[32];
    int argc = 0;
    strcpy(buf, line);
    for (char *t = strtok(buf, " "); t; t = strtok(NULL, " ")) argv[argc++] = t;
    n = flag = given = 0;
    seed = 0;
    name = choice = NULL;
    return args_parse(&cmd, argc, argv, pos, npos, help);
}

static void expect_error(const char *line, const char *fragment) {
    const char *pos[1];
    int npos, help;
    PbStatus st = parse(line, pos, &npos, &help);
    CHECK(st == PB_USAGE, "'%s' should fail", line);
    CHECK(strstr(pb_errmsg(), fragment) != NULL, "'%s': message '%s' lacks '%s'", line, pb_errmsg(), fragment);
}

int main(void) {
    const char *pos[1];
    int npos, help;
    CHECK_OK(parse("--n 5 --flag --seed=18446744073709551615 -o out.h5 --tok bytes in.txt", pos, &npos, &help));
    CHECK(n == 5 && flag && given && seed == UINT64_MAX, "n=%d flag=%d seed=%llu", n, flag, (unsigned long long)seed);
    CHECK(name && strcmp(name, "out.h5") == 0 && choice && strcmp(choice, "bytes") == 0, "strings");
    CHECK(npos == 1 && strcmp(pos[0], "in.txt") == 0, "positional");
    CHECK_OK(parse("-- --n", pos, &npos, &help));
    CHECK(npos == 1 && strcmp(pos[0], "--n") == 0 && n == 0, "-- ends options");
    CHECK_OK(parse("--n 5 --help --bogus", pos, &npos, &help));
    CHECK(help == 1, "--help");

    expect_error("--bogus", "unknown option '--bogus'");
    expect_error("--n", "--n needs a value");
    expect_error("--n abc", "'abc' is not a whole number");
    expect_error("--n 5x", "'5x' is not a whole number");
    expect_error("--n 0", "0 is out of range (1..100)");
    expect_error("--n 101", "101 is out of range");
    expect_error("--n -3", "-3 is out of range");
    expect_error("--n 99999999999999999999", "out of range");
    expect_error("--seed -1", "not a non-negative whole number");
    expect_error("--seed 99999999999999999999", "out of range");
    expect_error("--tok gpt3", "'gpt3' is not one of gpt2|bytes");
    expect_error("--flag=1", "--flag takes no value");
    expect_error("a b", "unexpected argument 'b'");
    return check_exit_code("args");
}
