/* gen_h5_config.h: the configuration attributes of a study group as one
 * table (internal to gen_h5*.c): gen_h5_write writes it, gen_h5_resume
 * compares a file's attributes with it item by item, so the two cannot
 * drift apart. */
#ifndef POSBENCH_GEN_H5_CONFIG_H
#define POSBENCH_GEN_H5_CONFIG_H

#include "../train/generalize.h"

typedef struct {
    const char *name;
    char type; /* 's' string, 'i' integer, 'd' double */
    const char *s;
    long long i;
    double d;
} ConfigItem;

/* The table's capacity; gen_h5_config_table fills at most 32 items. */
#define CONFIG_ITEMS 48

typedef struct {
    /* the joined lists the string items point into */
    char list[GEN_MAX_ENCODINGS * (GEN_NAME + 1)], seeds[1024], lens[512], methods[128];
    ConfigItem item[CONFIG_ITEMS];
    int n;
} ConfigTable;

/* Fills t with r's configuration, in the order the attributes are written. */
void gen_h5_config_table(ConfigTable *t, const GenResults *r);

#endif
