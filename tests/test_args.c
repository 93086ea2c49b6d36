/* test_args.c: the option parser's accepted forms and its error messages. */
#include <string.h>

#include "../harness/cli/args.h"
#include "check.h"

static int n, flag, given;
static double lr, wd, frac, shift;
static uint64_t seed;
static const char *name, *choice;
static const char *const choices[] = {"gpt2", "bytes", NULL};
static const ArgSpec specs[] = {
    {"--n", NULL, ARG_INT, &n, 1, 100, NULL, "N", "a count", NULL},
    {"--flag", NULL, ARG_FLAG, &flag, 0, 0, NULL, NULL, "a flag", NULL},
    {"--seed", NULL, ARG_U64, &seed, 0, 0, NULL, "K", "a seed", &given},
    {"--output", "-o", ARG_STRING, &name, 0, 0, NULL, "FILE", "a path", NULL},
    {"--tok", NULL, ARG_CHOICE, &choice, 0, 0, choices, "NAME", "a choice", NULL},
    {"--lr", NULL, ARG_DOUBLE, &lr, 0, 0, NULL, "X", "positive", .flags = ARG_ABOVE_LO, .lo = 0, .hi = ARG_UNBOUNDED},
    {"--wd", NULL, ARG_DOUBLE, &wd, 0, 0, NULL, "X", ">= 0", .lo = 0, .hi = ARG_UNBOUNDED},
    {"--frac", NULL, ARG_DOUBLE, &frac, 0, 0, NULL, "X", "in [0, 1]", .lo = 0, .hi = 1},
    {"--shift", NULL, ARG_DOUBLE, &shift, 0, 0, NULL, "X", "any", .lo = -ARG_UNBOUNDED, .hi = ARG_UNBOUNDED},
    {NULL},
};
static const ArgCommand cmd = {"demo", "[FILE]", "a demo", specs, 0, 1};

/* --resume and the options it refuses: with the command's own text and with
 * the parser's. */
static const char *resume, *enc;
static int steps;
static const ArgSpec resume_specs[] = {
    {"--resume", NULL, ARG_STRING, &resume, 0, 0, NULL, "FILE", "resume", .flags = ARG_RESUME},
    {"--enc", NULL, ARG_STRING, &enc, 0, 0, NULL, "E", "an encoding", .flags = ARG_NOT_WITH_RESUME},
    {"--lr", NULL, ARG_DOUBLE, &lr, 0, 0, NULL, "X", "positive", .flags = ARG_ABOVE_LO | ARG_NOT_WITH_RESUME, .lo = 0,
     .hi = ARG_UNBOUNDED},
    {"--steps", NULL, ARG_INT, &steps, 1, 100, NULL, "N", "allowed with --resume"},
    {NULL},
};
static const ArgCommand resume_cmd = {"resumer",
                                      "",
                                      "resumes",
                                      resume_specs,
                                      0,
                                      0,
                                      .resume_refusal = "--resume takes the settings from the file; give only --steps"};
static const ArgCommand resume_plain = {"plain", "", "resumes", resume_specs, 0, 0};

static const ArgCommand *parsed = &cmd;

static PbStatus parse(const char *line, const char **pos, int *npos, int *help) {
    static char buf[256];
    static char *argv[32];
    int argc = 0;
    strcpy(buf, line);
    for (char *t = strtok(buf, " "); t; t = strtok(NULL, " ")) argv[argc++] = t;
    n = flag = given = steps = 0;
    lr = wd = frac = shift = -99;
    seed = 0;
    name = choice = resume = enc = NULL;
    return args_parse(parsed, argc, argv, pos, npos, help);
}

static void expect_error_in(const ArgCommand *c, const char *line, const char *fragment) {
    const char *pos[1];
    int npos, help;
    parsed = c;
    PbStatus st = parse(line, pos, &npos, &help);
    parsed = &cmd;
    CHECK(st == PB_USAGE, "'%s' should fail", line);
    CHECK(strstr(pb_errmsg(), fragment) != NULL, "'%s': message '%s' lacks '%s'", line, pb_errmsg(), fragment);
}

static void expect_error(const char *line, const char *fragment) { expect_error_in(&cmd, line, fragment); }

static void doubles(void) {
    const char *pos[1];
    int npos, help;
    CHECK_OK(parse("--lr 1e-3 --wd=0 --frac 1 --shift -2.5", pos, &npos, &help));
    CHECK(lr == 1e-3 && wd == 0 && frac == 1 && shift == -2.5, "lr %g wd %g frac %g shift %g", lr, wd, frac, shift);
    CHECK_OK(parse("--lr=0x1p-3 --frac 0 --shift 1E+300 --wd 7", pos, &npos, &help));
    CHECK(lr == 0.125 && frac == 0 && shift == 1e300 && wd == 7, "hex, exponent");
    CHECK_OK(parse("--lr .5", pos, &npos, &help));
    CHECK(lr == 0.5, "leading point");

    expect_error("--lr", "--lr needs a value (X)");
    expect_error("--lr=", "--lr: needs a non-empty value");
    expect_error("--lr abc", "--lr: 'abc' is not a positive number");
    expect_error("--lr 5x", "--lr: '5x' is not a positive number");
    expect_error("--lr 0", "--lr: '0' is not a positive number");
    expect_error("--lr -1", "--lr: '-1' is not a positive number");
    expect_error("--lr 1e999", "--lr: '1e999' is not a positive number");
    expect_error("--lr 1e-320", "--lr: '1e-320' is not a positive number"); /* underflow */
    expect_error("--lr inf", "--lr: 'inf' is not a positive number");
    expect_error("--lr nan", "--lr: 'nan' is not a positive number");
    expect_error("--wd -0.1", "--wd: '-0.1' is not a number >= 0");
    expect_error("--wd abc", "--wd: 'abc' is not a number >= 0");
    expect_error("--frac 1.5", "--frac: '1.5' is not a number in [0, 1]");
    expect_error("--frac -0.001", "--frac: '-0.001' is not a number in [0, 1]");
    expect_error("--shift abc", "--shift: 'abc' is not a number");
    expect_error("--shift -inf", "--shift: '-inf' is not a number");
}

static void refused_with_resume(void) {
    const char *pos[1];
    int npos, help;
    parsed = &resume_cmd;
    CHECK_OK(parse("--resume f.h5 --steps 5", pos, &npos, &help));
    CHECK(resume && strcmp(resume, "f.h5") == 0 && steps == 5, "--resume with an allowed option");
    CHECK_OK(parse("--enc rope --lr 1e-3", pos, &npos, &help));
    CHECK(enc && lr == 1e-3, "refused options without --resume");
    CHECK_OK(parse("--enc rope --resume f.h5 --help", pos, &npos, &help));
    CHECK(help == 1, "--help before the check");
    parsed = &cmd;
    expect_error_in(&resume_cmd, "--resume f.h5 --enc rope",
                    "--resume takes the settings from the file; give only --steps, not --enc");
    expect_error_in(&resume_cmd, "--lr 1e-3 --steps 3 --resume=f.h5 --enc x",
                    "--resume takes the settings from the file; give only --steps, not --lr");
    expect_error_in(&resume_cmd, "--resume f.h5 --lr abc", "--lr: 'abc' is not a positive number");
    expect_error_in(&resume_plain, "--enc x --resume f.h5",
                    "plain: --resume takes its settings from the file; "
                    "--enc cannot be given with it");
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
    doubles();
    refused_with_resume();
    return check_exit_code("args");
}
