/* walkthrough.c: the seed notebook's pipeline on any text (see walkthrough.h).
 *
 *   ids    = gpt2(text)                                 [N]
 *   x, y   = first batch of windows                     [B, T] each
 *   tok    = wte[x]                                     [B, T, C], wte [V, C] ~ N(0,1)
 *   input  = tok + pos(0..T-1)                          [B, T, C]
 */
#include "walkthrough.h"

#include <stdlib.h>

#include "../../core/alloc.h"
#include "../../datasets/loader.h"
#include "../../datasets/token_stream.h"
#include "../../encodings/embedding.h"
#include "../../encodings/encoding.h"

static void print_matrix(FILE *out, const char *title, const int32_t *m, int rows, int cols) {
    fprintf(out, "%s [%d, %d]:\n", title, rows, cols);
    for (int r = 0; r < rows; r++) {
        fprintf(out, "  %s", r ? " [" : "[[");
        for (int c = 0; c < cols; c++) fprintf(out, c ? ", %5d" : "%5d", m[(size_t)r * cols + c]);
        fprintf(out, r + 1 < rows ? "],\n" : "]]\n");
    }
}

PbStatus walkthrough_run(const WalkthroughConfig *cfg, FILE *out) {
    const EncodingModule *module = encoding_find(cfg->encoding);
    if (!module) return pb_fail(PB_USAGE, "unknown encoding '%s' (see posbench list)", cfg->encoding);
    const int B = cfg->batch, T = cfg->context, C = cfg->dim;

    IdBuf ids = {0};
    TokenStreamInfo info;
    Loader loader = {0};
    Encoding enc = {0};
    int32_t *inputs = NULL, *targets = NULL;
    float *params = NULL, *acts = NULL;

    /* Everything that can be refused is checked before the first line is
     * printed, so a bad option or too short a text leaves stdout empty. */
    EncodingConfig ecfg = {.dim = C, .heads = 1, .max_len = T};
    PbStatus st = encoding_create(&enc, module, &ecfg);
    if (st) goto done;
    if ((st = token_stream_load(&ids, cfg->data, cfg->tokenizer, &info))) goto done;
    LoaderConfig lcfg = {.batch = B, .context = T, .stride = cfg->stride, .drop_last = 1};
    if ((st = loader_init(&loader, ids.data, ids.len, lcfg))) goto done;

    fprintf(out, "text: %s, %zu bytes -> %zu tokens (%s, vocabulary %d; %.1f MB/s)\n", cfg->data, info.n_bytes, ids.len,
            cfg->tokenizer, info.vocab_size,
            info.n_bytes / 1e6 / (info.encode_seconds > 0 ? info.encode_seconds : 1e-9));
    fprintf(out, "windows: %zu (context %d, stride %d) -> %zu batches of %d\n", loader.n_windows, T, cfg->stride,
            loader_num_batches(&loader), B);

    /* One parameter buffer: token table, then the encoding's slice. */
    const size_t V = (size_t)info.vocab_size, n_wte = V * C;
    inputs = pb_calloc((size_t)B * T, sizeof *inputs, "batch inputs");
    targets = pb_calloc((size_t)B * T, sizeof *targets, "batch targets");
    params = pb_alloc_floats(n_wte + enc.n_params, "embedding parameters");
    acts = pb_alloc_floats((size_t)B * T * C, "input embeddings");
    if (!inputs || !targets || !params || !acts) {
        st = PB_NOMEM;
        goto done;
    }
    encoding_bind(&enc, params + n_wte, NULL);
    Rng rng;
    rng_seed(&rng, cfg->seed, 0);
    embedding_init(params, (int)V, C, &rng);
    encoding_init_params(&enc, &rng);

    int rows = loader_next(&loader, inputs, targets);
    print_matrix(out, "first batch inputs", inputs, rows, T);
    print_matrix(out, "first batch targets", targets, rows, T);

    if ((st = embedding_forward(acts, inputs, params, B, T, C, (int)V))) goto done;
    fprintf(out, "token embeddings      [%d, %d, %d]  (table [%zu, %d], N(0,1), seed %llu)\n", B, T, C, V, C,
            (unsigned long long)cfg->seed);
    if (module->embed_forward) fprintf(out, "positional embeddings [%d, %d]  (%s)\n", T, C, module->name);
    else fprintf(out, "positional embeddings none  (%s adds no position vector)\n", module->name);
    if ((st = encoding_embed_forward(&enc, acts, B, T, 0))) goto done;
    fprintf(out, "input embeddings      [%d, %d, %d]  (token + positional)\n", B, T, C);
    fprintf(out, "input embeddings[0, 0, 0:4] = [%.4f, %.4f, %.4f, %.4f]\n", acts[0], C > 1 ? acts[1] : 0.0f,
            C > 2 ? acts[2] : 0.0f, C > 3 ? acts[3] : 0.0f);
done:
    free(inputs);
    free(targets);
    pb_free_large(params);
    pb_free_large(acts);
    encoding_destroy(&enc);
    loader_free(&loader);
    idbuf_free(&ids);
    return st;
}
