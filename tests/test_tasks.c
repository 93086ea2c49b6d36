/* test_tasks.c: the synthetic tasks (datasets/tasks.h): the same seed gives
 * the same examples, different seeds different ones, and every answer is
 * right, checked here independently of the generator (copy by comparison,
 * reverse by index, sort by order and letter counts, add by arithmetic on
 * the parsed numbers). */
#include <stdio.h>
#include <string.h>

#include "../datasets/tasks.h"
#include "check.h"

/* Checks one example of size n: framing, lengths and the answer. */
static void check_example(TaskKind k, int n, const int32_t *x, int len, int a0, int alen) {
    CHECK(len == task_example_len(k, n), "%s n=%d: length %d", task_name(k), n, len);
    CHECK(x[0] == TASK_BOS && x[len - 1] == TASK_EOS && x[a0 - 1] == TASK_SEP, "%s n=%d: framing", task_name(k), n);
    CHECK(a0 + alen == len - 1, "%s n=%d: the answer ends before '$'", task_name(k), n);
    const int32_t *in = x + 1, *ans = x + a0;
    if (k == TASK_ADD) {
        CHECK(alen == n + 1 && in[n] == '+', "add n=%d: layout", n);
        /* Column sums with carries, as a person would check, but most
         * significant first through a big-number compare via doubles for n <= 15. */
        if (n <= 15) {
            double a = 0, b = 0, c = 0;
            for (int i = 0; i < n; i++) a = a * 10 + (in[i] - '0'), b = b * 10 + (in[n + 1 + i] - '0');
            for (int i = 0; i < alen; i++) c = c * 10 + (ans[i] - '0');
            CHECK(a + b == c, "add n=%d: %.0f + %.0f != %.0f", n, a, b, c);
        }
        for (int i = 0; i < alen; i++) CHECK(ans[i] >= '0' && ans[i] <= '9', "add: digit");
        return;
    }
    CHECK(alen == n, "%s n=%d: answer length %d", task_name(k), n, alen);
    for (int i = 0; i < n; i++) CHECK(in[i] >= 'a' && in[i] <= 'z', "%s: letters", task_name(k));
    if (k == TASK_COPY)
        for (int i = 0; i < n; i++) CHECK(ans[i] == in[i], "copy n=%d: position %d", n, i);
    if (k == TASK_REVERSE)
        for (int i = 0; i < n; i++) CHECK(ans[i] == in[n - 1 - i], "reverse n=%d: position %d", n, i);
    if (k == TASK_SORT) {
        int cin[256] = {0}, cout[256] = {0};
        for (int i = 0; i < n; i++) cin[in[i]]++, cout[ans[i]]++;
        CHECK(memcmp(cin, cout, sizeof cin) == 0, "sort n=%d: not a permutation", n);
        for (int i = 1; i < n; i++) CHECK(ans[i - 1] <= ans[i], "sort n=%d: order at %d", n, i);
    }
}

int main(void) {
    static int32_t a[4096], b[4096];
    for (int k = 0; k < TASK_COUNT; k++) {
        CHECK(task_find(task_name((TaskKind)k)) == k, "name round trip");
        for (int len = 1; len < 200; len++) {
            int n = task_max_input((TaskKind)k, len);
            CHECK(n == 0 || task_example_len((TaskKind)k, n) <= len, "max_input fits");
            CHECK(task_example_len((TaskKind)k, n + 1) > len, "max_input is the largest");
        }
        for (int n = 1; n <= 40; n++) {
            Rng r1, r2;
            rng_seed(&r1, 42, 7), rng_seed(&r2, 42, 7);
            for (int rep = 0; rep < 20; rep++) {
                int s1, l1, s2, l2;
                int len1 = task_generate((TaskKind)k, n, &r1, a, &s1, &l1);
                int len2 = task_generate((TaskKind)k, n, &r2, b, &s2, &l2);
                CHECK(len1 == len2 && s1 == s2 && l1 == l2 && !memcmp(a, b, (size_t)len1 * sizeof *a),
                      "%s n=%d: same seed, different example", task_name((TaskKind)k), n);
                check_example((TaskKind)k, n, a, len1, s1, l1);
            }
        }
        /* Different seeds: different examples (n = 20: collisions are
         * astronomically unlikely). */
        Rng r1, r2;
        rng_seed(&r1, 1, 7), rng_seed(&r2, 2, 7);
        int len = task_generate((TaskKind)k, 20, &r1, a, NULL, NULL);
        task_generate((TaskKind)k, 20, &r2, b, NULL, NULL);
        CHECK(memcmp(a, b, (size_t)len * sizeof *a) != 0, "%s: seeds 1 and 2 agree", task_name((TaskKind)k));
        /* Training stream: blocks of L, each an example then padding, and a final '^'. */
        const int L = 32, blocks = 50;
        Rng rs;
        rng_seed(&rs, 9, 1);
        CHECK(task_training_stream((TaskKind)k, L, blocks, &rs, a) == 0, "stream");
        Rng rs2;
        rng_seed(&rs2, 9, 1);
        task_training_stream((TaskKind)k, L, blocks, &rs2, b);
        CHECK(!memcmp(a, b, (size_t)(blocks * L + 1) * sizeof *a), "stream determinism");
        CHECK(a[blocks * L] == TASK_BOS, "stream ends with '^'");
        for (int i = 0; i < blocks; i++) {
            const int32_t *blk = a + i * L;
            int e = 0;
            while (e < L && blk[e] != TASK_EOS) e++;
            CHECK(e < L, "block %d has '$'", i);
            int n = k == TASK_ADD ? (e + 1 - 5) / 3 : (e + 1 - 3) / 2;
            int sep = 0;
            while (blk[sep] != TASK_SEP) sep++;
            check_example((TaskKind)k, n, blk, e + 1, sep + 1, k == TASK_ADD ? n + 1 : n);
            for (int j = e + 1; j < L; j++) CHECK(blk[j] == TASK_PAD, "padding");
            /* Answer-only targets: the window at this block scores exactly
             * the answer tokens and the closing '$' (positions sep+1..e as
             * targets, i.e. inputs sep..e-1). */
            int32_t in[64], tg[64];
            memcpy(in, blk, (size_t)L * sizeof *in);
            memcpy(tg, blk + 1, (size_t)L * sizeof *tg);
            task_mask_targets(in, tg, 1, L, -7);
            for (int p = 0; p < L; p++) {
                const int want = p >= sep && p < e;
                CHECK(want ? tg[p] == blk[p + 1] : tg[p] == -7, "%s block %d: target %d %s", task_name((TaskKind)k), i,
                      p, want ? "should be scored" : "should be unscored");
            }
        }
        /* A window that starts inside an answer scores nothing before its next '='. */
        {
            int32_t in[6] = {'a', 'b', TASK_EOS, TASK_PAD, TASK_BOS, 'c'}, tg[6] = {1, 2, 3, 4, 5, 6};
            task_mask_targets(in, tg, 1, 6, -1);
            int none = 1;
            for (int p = 0; p < 6; p++) none &= tg[p] == -1;
            CHECK(none, "a window starting mid-answer scored a target");
        }
        CHECK(task_training_stream((TaskKind)k, 3, 1, &rs, a) == -1, "too short a block");
    }
    CHECK(task_find("nope") == -1, "unknown task");
    return check_exit_code("tasks");
}
