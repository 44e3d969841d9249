/* The regex engine (regex_vm.h): a recursive-descent parser into a small tree, a code
 * generator into a Pike-VM program (counted repeats expanded, the program bounded), and
 * the matcher, which runs every NFA thread in lock step over the subject in caller-owned
 * scratch, counting its steps against REGEX_MAX_STEPS. */
#include "regex_vm.h"
#include "errfmt.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* ---- the program ---- */

enum op {     /* the ops that take a byte first: add_thread() tests op <= OP_CLASS */
    OP_CHAR,   /* the byte c */
    OP_ANY,    /* any byte */
    OP_CLASS,  /* a byte in classes[x] */
    OP_SPLIT,  /* go on at x, and at y with lower priority */
    OP_JMP,    /* go on at x */
    OP_SAVE,   /* slot x = the position (0: match start, 1 and 2: group 1) */
    OP_BOL,    /* at position 0 */
    OP_EOL,    /* at the end */
    OP_MATCH,
};

struct inst {
    uint8_t op;
    uint8_t c;
    uint32_t x, y;
};

struct cls {
    uint8_t bits[32];
};

struct regex {
    struct inst *prog;
    uint32_t nprog;
    struct cls *classes;
    uint32_t nclasses;
    unsigned groups;
    /* where a match can begin, away from position 0 and the end: the bytes its first
     * consumed byte may be (skip_one when that is one byte); no skipping when it can be
     * empty there */
    bool can_skip;
    int skip_one;  /* -1: several */
    struct cls first;
};

static bool cls_has(const struct cls *c, unsigned char b) { return c->bits[b >> 3] >> (b & 7) & 1; }
static void cls_add(struct cls *c, unsigned char b) { c->bits[b >> 3] |= (uint8_t)(1u << (b & 7)); }

/* ---- parsing into a tree ---- */

enum ntype { N_EMPTY, N_CHAR, N_ANY, N_CLASS, N_BOL, N_EOL, N_CAT, N_ALT, N_GROUP, N_REPEAT };

struct node {
    uint8_t type;
    uint8_t c;        /* N_CHAR */
    bool greedy;      /* N_REPEAT */
    unsigned group;   /* N_GROUP: capture index, 0 for (?: ) */
    uint32_t cls;     /* N_CLASS */
    int min, max;     /* N_REPEAT; max -1: unbounded */
    int kid, next;    /* first child, next sibling; -1: none */
    size_t pos;       /* 1-based, for messages */
};

struct parser {
    const char *pat;
    size_t at, len;
    struct node *nodes;
    int nnodes, cap;
    struct regex *re;
    unsigned depth;
    char *err;
    size_t errlen;
    bool failed;
};

__attribute__((format(printf, 3, 4))) static int perr(struct parser *p, size_t pos, const char *fmt, ...)
{
    if (p->failed) return -1;
    p->failed = true;
    char why[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    errfmt_line(p->err, p->errlen, "bad regex at %zu: %s", pos, why);
    return -1;
}

static int new_node(struct parser *p, enum ntype t, size_t at)
{
    if (p->nnodes == p->cap) return perr(p, at + 1, "pattern too large");  /* not reached: cap bounds it */
    struct node *n = &p->nodes[p->nnodes];
    memset(n, 0, sizeof(*n));
    n->type = (uint8_t)t;
    n->kid = n->next = -1;
    n->pos = at + 1;
    return p->nnodes++;
}

static int new_class(struct parser *p, const struct cls *c)
{
    if ((p->re->nclasses & 15) == 0) {
        struct cls *m = realloc(p->re->classes, (p->re->nclasses + 16) * sizeof(*m));
        if (!m) return perr(p, p->at + 1, "out of memory");
        p->re->classes = m;
    }
    p->re->classes[p->re->nclasses] = *c;
    return (int)p->re->nclasses++;
}

static void add_range(struct cls *c, unsigned lo, unsigned hi)
{
    for (unsigned b = lo; b <= hi; b++) cls_add(c, (unsigned char)b);
}

/* \d \w \s and their negations into c; false if e is not one of them. */
static bool add_shorthand(struct cls *c, char e)
{
    struct cls t = {{0}};
    switch (e | 0x20) {
    case 'd': add_range(&t, '0', '9'); break;
    case 'w': add_range(&t, '0', '9'); add_range(&t, 'a', 'z'); add_range(&t, 'A', 'Z'); cls_add(&t, '_'); break;
    case 's': add_range(&t, '\t', '\r'); cls_add(&t, ' '); break;
    default: return false;
    }
    bool neg = e >= 'A' && e <= 'Z';
    for (int i = 0; i < 32; i++) c->bits[i] |= neg ? (uint8_t)~t.bits[i] : t.bits[i];
    return true;
}

static int control_escape(char e)
{
    switch (e) {
    case 'n': return '\n';
    case 't': return '\t';
    case 'r': return '\r';
    case 'f': return '\f';
    case 'v': return '\v';
    default: return -1;
    }
}

static bool is_alnum(char c) { return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'); }

/* The byte an escape `\e` (at p->at, on the backslash) stands for, or -1 with the error
 * set; -2 when it is a shorthand class (added to c when c is given). */
static int escape(struct parser *p, struct cls *c)
{
    size_t at = p->at;
    if (at + 1 >= p->len) return perr(p, at + 1, "trailing \\");
    char e = p->pat[at + 1];
    p->at += 2;
    if (c ? add_shorthand(c, e) : (e | 0x20) == 'd' || (e | 0x20) == 'w' || (e | 0x20) == 's') return -2;
    int k = control_escape(e);
    if (k >= 0) return k;
    if (is_alnum(e)) return perr(p, at + 1, "unknown escape \\%c", e);
    return (unsigned char)e;
}

static const struct {
    const char *name;
    const char *ranges;  /* pairs lo, hi */
} named[] = {
    {"alnum", "09azAZ"}, {"alpha", "azAZ"}, {"blank", "\t\t  "}, {"cntrl", "\x01\x1f\x7f\x7f"},
    {"digit", "09"}, {"graph", "!~"}, {"lower", "az"}, {"print", " ~"},
    {"punct", "!/:@[`{~"}, {"space", "\t\r  "}, {"upper", "AZ"}, {"xdigit", "09afAF"},
};

/* A bracket expression; p->at is on the '['. */
static int parse_bracket(struct parser *p)
{
    size_t open = p->at++;
    struct cls c = {{0}};
    bool neg = p->at < p->len && p->pat[p->at] == '^';
    if (neg) p->at++;
    bool first = true;
    for (;;) {
        if (p->at >= p->len) return perr(p, open + 1, "unmatched [");
        char ch = p->pat[p->at];
        if (ch == ']' && !first) {
            p->at++;
            break;
        }
        first = false;
        if (ch == '[' && p->at + 1 < p->len && p->pat[p->at + 1] == ':') {
            const char *end = strstr(p->pat + p->at + 2, ":]");
            size_t n = end ? (size_t)(end - (p->pat + p->at + 2)) : 0;
            size_t k = 0;
            while (end && k < sizeof(named) / sizeof(named[0]) && (strlen(named[k].name) != n ||
                                                                   memcmp(named[k].name, p->pat + p->at + 2, n)))
                k++;
            if (!end || k == sizeof(named) / sizeof(named[0]))
                return perr(p, p->at + 1, "unknown class [:%.*s:]", end && n < 20 ? (int)n : 0, p->pat + p->at + 2);
            if (named[k].ranges[0] == '\x01') cls_add(&c, 0);  /* cntrl includes NUL */
            for (const char *r = named[k].ranges; *r; r += 2) add_range(&c, (unsigned char)r[0], (unsigned char)r[1]);
            p->at += n + 4;
            continue;
        }
        size_t at = p->at;
        int lo;
        if (ch == '\\') {
            lo = escape(p, &c);
            if (lo == -1) return -1;
            if (lo == -2) continue;
        } else {
            lo = (unsigned char)ch;
            p->at++;
        }
        int hi = lo;
        if (p->at + 1 < p->len && p->pat[p->at] == '-' && p->pat[p->at + 1] != ']') {
            p->at++;
            if (p->pat[p->at] == '\\') {
                hi = escape(p, NULL);
                if (hi == -1) return -1;
                if (hi == -2) return perr(p, at + 1, "bad range: a class cannot end a range");
            } else if (p->pat[p->at] == '[' && p->at + 1 < p->len && p->pat[p->at + 1] == ':') {
                return perr(p, at + 1, "bad range: a class cannot end a range");
            } else {
                hi = (unsigned char)p->pat[p->at++];
            }
            if (hi < lo) return perr(p, at + 1, "bad range %.*s", (int)(p->at - at), p->pat + at);
        }
        add_range(&c, (unsigned)lo, (unsigned)hi);
    }
    if (neg)
        for (int i = 0; i < 32; i++) c.bits[i] = (uint8_t)~c.bits[i];
    int k = new_class(p, &c);
    if (k < 0) return -1;
    int n = new_node(p, N_CLASS, open);
    if (n >= 0) p->nodes[n].cls = (uint32_t)k;
    return n;
}

static int parse_alt(struct parser *p);

/* Reads a decimal number at p->at: its value, -1 if there is none, -2 if over 9999. */
static int read_count(struct parser *p)
{
    int v = -1;
    while (p->at < p->len && p->pat[p->at] >= '0' && p->pat[p->at] <= '9') {
        int d = p->pat[p->at++] - '0';
        if (v != -2) v = v < 0 ? d : v * 10 + d > 9999 ? -2 : v * 10 + d;
    }
    return v;
}

/* A bound {m}, {m,} or {m,n} at p->at (on the '{'). Returns 1 with *min, *max set (max
 * -1: none) and p->at past it; 0 when it is not a bound (p->at unchanged); -1 when it is
 * one with a count over 9999. */
static int parse_bound(struct parser *p, int *min, int *max)
{
    size_t save = p->at++;
    int m = read_count(p), n = m;
    if (m != -1 && p->at < p->len && p->pat[p->at] == ',') {
        p->at++;
        n = read_count(p);
    }
    if (m == -1 || p->at >= p->len || p->pat[p->at] != '}') {
        p->at = save;
        return 0;
    }
    p->at++;
    *min = m;
    *max = n;
    return m == -2 || n == -2 ? -1 : 1;
}

static bool is_quant(struct parser *p)
{
    if (p->at >= p->len) return false;
    char c = p->pat[p->at];
    if (c == '*' || c == '+' || c == '?') return true;
    if (c != '{') return false;
    int m, n;
    size_t save = p->at;
    int b = parse_bound(p, &m, &n);
    p->at = save;
    return b != 0;
}

static int parse_atom(struct parser *p)
{
    size_t at = p->at;
    char c = p->pat[at];
    switch (c) {
    case '(': {
        if (++p->depth > REGEX_MAX_DEPTH) return perr(p, at + 1, "over %d nested groups", REGEX_MAX_DEPTH);
        p->at++;
        unsigned group = 0;
        if (p->at + 1 < p->len && p->pat[p->at] == '?' && p->pat[p->at + 1] == ':') p->at += 2;
        else if (p->at < p->len && p->pat[p->at] == '?') return perr(p, p->at + 1, "(? is only supported as (?:");
        else group = ++p->re->groups;
        int n = new_node(p, N_GROUP, at);
        if (n < 0) return -1;
        p->nodes[n].group = group;
        int kid = parse_alt(p);
        if (kid < 0) return -1;
        if (p->at >= p->len || p->pat[p->at] != ')') return perr(p, at + 1, "unmatched (");
        p->at++;
        p->depth--;
        p->nodes[n].kid = kid;
        return n;
    }
    case '[': return parse_bracket(p);
    case '.': p->at++; return new_node(p, N_ANY, at);
    case '^': p->at++; return new_node(p, N_BOL, at);
    case '$': p->at++; return new_node(p, N_EOL, at);
    case '\\': {
        struct cls k = {{0}};
        int b = escape(p, &k);
        if (b == -1) return -1;
        if (b == -2) {
            int ci = new_class(p, &k);
            if (ci < 0) return -1;
            int n = new_node(p, N_CLASS, at);
            if (n >= 0) p->nodes[n].cls = (uint32_t)ci;
            return n;
        }
        int n = new_node(p, N_CHAR, at);
        if (n >= 0) p->nodes[n].c = (uint8_t)b;
        return n;
    }
    case '*': case '+': case '?': return perr(p, at + 1, "nothing to repeat before %c", c);
    default: {
        if (c == '{' && is_quant(p)) return perr(p, at + 1, "nothing to repeat before {");
        p->at++;
        int n = new_node(p, N_CHAR, at);
        if (n >= 0) p->nodes[n].c = (uint8_t)c;
        return n;
    }
    }
}

/* An atom and the repeats after it. */
static int parse_repeat(struct parser *p)
{
    int atom = parse_atom(p);
    if (atom < 0 || !is_quant(p)) return atom;
    size_t at = p->at;
    char c = p->pat[at];
    if (p->nodes[atom].type == N_BOL || p->nodes[atom].type == N_EOL)
        return perr(p, at + 1, "nothing to repeat before %c", c);
    int min = 0, max = -1;
    if (c == '*') p->at++;
    else if (c == '+') p->at++, min = 1;
    else if (c == '?') p->at++, max = 1;
    else {
        if (parse_bound(p, &min, &max) < 0 || min > REGEX_MAX_REPEAT || max > REGEX_MAX_REPEAT)
            return perr(p, at + 1, "repeat count over %d", REGEX_MAX_REPEAT);
        if (max >= 0 && max < min) return perr(p, at + 1, "bad repeat {%d,%d}", min, max);
    }
    bool greedy = true;
    if (p->at < p->len && p->pat[p->at] == '?') {
        greedy = false;
        p->at++;
    }
    if (is_quant(p)) return perr(p, p->at + 1, "a repeat cannot follow a repeat");
    int n = new_node(p, N_REPEAT, at);
    if (n < 0) return -1;
    p->nodes[n].min = min;
    p->nodes[n].max = max;
    p->nodes[n].greedy = greedy;
    p->nodes[n].kid = atom;
    return n;
}

static int parse_cat(struct parser *p)
{
    int cat = new_node(p, N_CAT, p->at), last = -1;
    if (cat < 0) return -1;
    while (p->at < p->len && p->pat[p->at] != '|' && p->pat[p->at] != ')') {
        int k = parse_repeat(p);
        if (k < 0) return -1;
        if (last < 0) p->nodes[cat].kid = k;
        else p->nodes[last].next = k;
        last = k;
    }
    return cat;
}

static int parse_alt(struct parser *p)
{
    int alt = new_node(p, N_ALT, p->at), last = -1;
    if (alt < 0) return -1;
    for (;;) {
        int k = parse_cat(p);
        if (k < 0) return -1;
        if (last < 0) p->nodes[alt].kid = k;
        else p->nodes[last].next = k;
        last = k;
        if (p->at >= p->len || p->pat[p->at] != '|') return alt;
        p->at++;
    }
}

/* ---- code generation ---- */

struct gen {
    struct parser *p;
    struct inst *prog;
    uint32_t n;
    uint32_t visits;  /* of gen_node: bounded, as `(?:){1000}` repeated emits nothing */
    size_t outer;     /* the outermost repeat being expanded (0: none): what a message blames */
};

static int64_t emit(struct gen *g, enum op op, uint32_t x, uint32_t y, const struct node *at)
{
    if (g->n >= REGEX_MAX_PROG)
        return perr(g->p, g->outer ? g->outer : at->pos, "pattern too large: over %d instructions once repeats are expanded",
                    REGEX_MAX_PROG);
    g->prog[g->n] = (struct inst){.op = (uint8_t)op, .x = x, .y = y};
    return g->n++;
}

static int gen_node(struct gen *g, int ni);

/* x{min,max}: min copies of x, then for no max (x+)? (as Go does: a loop entered
 * before its test, so that an x that matches empty still sets its groups, as Perl
 * would), or (x(x(x)?)?)? up to max. Lazy repeats swap the priorities of the splits. */
static int gen_repeat(struct gen *g, const struct node *n)
{
    int64_t pc;
    for (int i = 0; i < n->min - (n->max < 0 && n->min > 0); i++)
        if (gen_node(g, n->kid)) return -1;
    if (n->max < 0) {
        int64_t skip = -1;
        if (n->min == 0 && (skip = emit(g, OP_SPLIT, 0, 0, n)) < 0) return -1;
        uint32_t top = g->n;
        if (gen_node(g, n->kid) || (pc = emit(g, OP_SPLIT, 0, 0, n)) < 0) return -1;
        g->prog[pc].x = n->greedy ? top : g->n;
        g->prog[pc].y = n->greedy ? g->n : top;
        if (skip >= 0) {
            g->prog[skip].x = n->greedy ? top : g->n;
            g->prog[skip].y = n->greedy ? g->n : top;
        }
        return 0;
    }
    uint32_t chain = UINT32_MAX;  /* each split's way out goes to the end, chained through y */
    for (int i = n->min; i < n->max; i++) {
        if ((pc = emit(g, OP_SPLIT, (uint32_t)g->n + 1, chain, n)) < 0) return -1;
        chain = (uint32_t)pc;
        if (gen_node(g, n->kid)) return -1;
    }
    while (chain != UINT32_MAX) {
        uint32_t next = g->prog[chain].y;
        g->prog[chain].y = g->n;
        if (!n->greedy) {
            g->prog[chain].y = g->prog[chain].x;
            g->prog[chain].x = g->n;
        }
        chain = next;
    }
    return 0;
}

static int gen_node(struct gen *g, int ni)
{
    const struct node *n = &g->p->nodes[ni];
    int64_t pc;
    if (++g->visits > 16 * REGEX_MAX_PROG)
        return perr(g->p, g->outer ? g->outer : n->pos, "pattern too large: over %d steps once repeats are expanded", 16 * REGEX_MAX_PROG);
    switch ((enum ntype)n->type) {
    case N_EMPTY: return 0;
    case N_CHAR:
        if ((pc = emit(g, OP_CHAR, 0, 0, n)) < 0) return -1;
        g->prog[pc].c = n->c;
        return 0;
    case N_ANY: return emit(g, OP_ANY, 0, 0, n) < 0 ? -1 : 0;
    case N_CLASS: return emit(g, OP_CLASS, n->cls, 0, n) < 0 ? -1 : 0;
    case N_BOL: return emit(g, OP_BOL, 0, 0, n) < 0 ? -1 : 0;
    case N_EOL: return emit(g, OP_EOL, 0, 0, n) < 0 ? -1 : 0;
    case N_CAT:
        for (int k = n->kid; k >= 0; k = g->p->nodes[k].next)
            if (gen_node(g, k)) return -1;
        return 0;
    case N_ALT: {
        /* split L1, next; L1: a; jmp end; next: split L2, ...; last: z; end:
         * the pending jumps to end are chained through their x */
        uint32_t chain = UINT32_MAX;
        for (int k = n->kid; k >= 0; k = g->p->nodes[k].next) {
            if (g->p->nodes[k].next < 0) {
                if (gen_node(g, k)) return -1;
                break;
            }
            int64_t split = emit(g, OP_SPLIT, 0, 0, n);
            if (split < 0) return -1;
            g->prog[split].x = (uint32_t)split + 1;
            if (gen_node(g, k)) return -1;
            int64_t jmp = emit(g, OP_JMP, chain, 0, n);
            if (jmp < 0) return -1;
            chain = (uint32_t)jmp;
            g->prog[split].y = g->n;
        }
        while (chain != UINT32_MAX) {
            uint32_t next = g->prog[chain].x;
            g->prog[chain].x = g->n;
            chain = next;
        }
        return 0;
    }
    case N_GROUP:
        if (n->group == 1 && emit(g, OP_SAVE, 1, 0, n) < 0) return -1;
        if (gen_node(g, n->kid)) return -1;
        if (n->group == 1 && emit(g, OP_SAVE, 2, 0, n) < 0) return -1;
        return 0;
    case N_REPEAT: {
        bool outermost = !g->outer;
        if (outermost) g->outer = n->pos;
        int rc = gen_repeat(g, n);
        if (outermost) g->outer = 0;
        return rc;
    }
    }
    return 0;
}

/* ---- where matches can start ---- */

/* The bytes the first consumed byte of a match starting at 0 < pos < len may be; false
 * when a match can be empty there (or the closure is too big to follow here). */
static bool first_bytes(const struct regex *re, struct cls *out)
{
    uint32_t stack[64], sp = 0;
    uint8_t seen[REGEX_MAX_PROG / 8] = {0};
    memset(out, 0, sizeof(*out));
    stack[sp++] = 0;
    while (sp) {
        uint32_t pc = stack[--sp];
        if (seen[pc >> 3] >> (pc & 7) & 1) continue;
        seen[pc >> 3] |= (uint8_t)(1u << (pc & 7));
        const struct inst *in = &re->prog[pc];
        switch ((enum op)in->op) {
        case OP_CHAR: cls_add(out, in->c); break;
        case OP_ANY: return false;
        case OP_CLASS:
            for (int i = 0; i < 32; i++) out->bits[i] |= re->classes[in->x].bits[i];
            break;
        case OP_SPLIT:
            if (sp + 2 > sizeof(stack) / sizeof(stack[0])) return false;
            stack[sp++] = in->y;
            stack[sp++] = in->x;
            break;
        case OP_JMP: stack[sp++] = in->x; break;
        case OP_SAVE: stack[sp++] = pc + 1; break;
        case OP_BOL: case OP_EOL: break;  /* fail away from the ends */
        case OP_MATCH: return false;
        }
    }
    return true;
}

/* ---- compiling ---- */

struct regex *regex_compile(const char *pattern, char *err, size_t errlen)
{
    struct regex *re = calloc(1, sizeof(*re));
    struct parser p = {.pat = pattern, .len = strlen(pattern), .re = re, .err = err, .errlen = errlen};
    struct gen g = {.p = &p};
    if (!re) goto oom;
    if (p.len > (size_t)1 << 20) {
        perr(&p, 1, "pattern over 1 MiB");
        goto fail;
    }
    p.cap = (int)(3 * p.len + 4);  /* a node per byte, a group 3 (group, alternation, sequence) */
    p.nodes = malloc((size_t)p.cap * sizeof(*p.nodes));
    g.prog = malloc(REGEX_MAX_PROG * sizeof(*g.prog));
    if (!p.nodes || !g.prog) goto oom;
    int root = parse_alt(&p);
    if (root < 0) goto fail;
    if (p.at < p.len) {  /* stopped at a ')' */
        perr(&p, p.at + 1, "unmatched )");
        goto fail;
    }
    struct node top = {.pos = 1};
    if (emit(&g, OP_SAVE, 0, 0, &top) < 0 || gen_node(&g, root) || emit(&g, OP_MATCH, 0, 0, &top) < 0) goto fail;
    re->nprog = g.n;
    re->prog = realloc(g.prog, g.n * sizeof(*g.prog));
    if (!re->prog) {
        re->prog = g.prog;
        goto oom;
    }
    g.prog = NULL;
    re->can_skip = first_bytes(re, &re->first);
    re->skip_one = -1;
    if (re->can_skip) {
        int count = 0;
        for (int b = 0; b < 256; b++)
            if (cls_has(&re->first, (unsigned char)b)) count++, re->skip_one = b;
        if (count != 1) re->skip_one = -1;
    }
    free(p.nodes);
    return re;
oom:
    if (!p.failed) errfmt(err, errlen, "out of memory");
fail:
    free(p.nodes);
    free(g.prog);
    regex_destroy(re);
    return NULL;
}

void regex_destroy(struct regex *re)
{
    if (!re) return;
    free(re->prog);
    free(re->classes);
    free(re);
}

unsigned regex_groups(const struct regex *re) { return re->groups; }

/* ---- matching ---- */

struct thread {
    uint32_t pc;
    size_t cap[3];  /* match start, group 1 start and end */
};

struct list {
    struct thread *t;
    uint32_t n;
};

struct vm {
    const struct regex *re;
    const unsigned char *s;
    size_t len;
    uint32_t *mark;   /* mark[pc] == gen: pc is in the list being built */
    uint32_t gen;
    struct thread *stack;
};

size_t regex_scratch_size(const struct regex *re)
{
    /* two lists and the closure's stack of threads, the marks, and room to align */
    return (2 * (size_t)re->nprog + re->nprog + 1) * sizeof(struct thread) + re->nprog * sizeof(uint32_t) + 16;
}

static void next_gen(struct vm *vm)
{
    if (++vm->gen == 0) {
        memset(vm->mark, 0, vm->re->nprog * sizeof(*vm->mark));
        vm->gen = 1;
    }
}

/* Adds the thread at pc with the captures cap (at pos) to l, following the jumps, splits
 * (in priority order), saves and assertions; every pc enters a list once per position.
 * Returns the pcs it entered: its share of the match's steps. (The thread is kept in
 * scalars, written field by field: a struct written in part and then copied whole
 * stalls on store forwarding, which once took most of the time.) */
static inline __attribute__((always_inline)) uint32_t add_thread(struct vm *vm, struct list *l, uint32_t pc,
                                                                const size_t *cap, size_t pos)
{
    const struct inst *prog = vm->re->prog;
    uint32_t *mark = vm->mark, gen = vm->gen;
    uint32_t sp = 0, steps = 0;
    size_t c0 = cap[0], c1 = cap[1], c2 = cap[2];
    for (;;) {
        while (mark[pc] != gen) {
            mark[pc] = gen;
            steps++;
            const struct inst *in = &prog[pc];
            if (in->op <= OP_CLASS || in->op == OP_MATCH) {  /* the most common: a byte to take */
                struct thread *t = &l->t[l->n++];
                t->pc = pc;
                t->cap[0] = c0;
                t->cap[1] = c1;
                t->cap[2] = c2;
                break;
            } else if (in->op == OP_JMP) {
                pc = in->x;
            } else if (in->op == OP_SPLIT) {
                struct thread *t = &vm->stack[sp++];  /* at most one push per split: the stack holds nprog */
                t->pc = in->y;
                t->cap[0] = c0;
                t->cap[1] = c1;
                t->cap[2] = c2;
                pc = in->x;
            } else if (in->op == OP_SAVE) {
                if (in->x == 0) c0 = pos;
                else if (in->x == 1) c1 = pos;
                else c2 = pos;
                pc++;
            } else if (in->op == OP_BOL) {
                if (pos != 0) break;
                pc++;
            } else {  /* OP_EOL */
                if (pos != vm->len) break;
                pc++;
            }
        }
        if (!sp) return steps;
        const struct thread *t = &vm->stack[--sp];
        pc = t->pc;
        c0 = t->cap[0];
        c1 = t->cap[1];
        c2 = t->cap[2];
    }
}

static bool accepts(const struct regex *re, const struct inst *in, unsigned char b)
{
    switch (in->op) {
    case OP_CHAR: return in->c == b;
    case OP_ANY: return true;
    case OP_CLASS: return cls_has(&re->classes[in->x], b);
    default: return false;
    }
}

/* The next position >= pos where a match may start (len if none). */
static size_t skip_to(const struct regex *re, const unsigned char *s, size_t pos, size_t len)
{
    if (re->skip_one >= 0) {
        const unsigned char *f = memchr(s + pos, re->skip_one, len - pos);
        return f ? (size_t)(f - s) : len;
    }
    while (pos < len && !cls_has(&re->first, s[pos])) pos++;
    return pos;
}

int regex_match(const struct regex *re, const char *subject, size_t len, void *scratch, size_t scratch_cap,
                struct regex_span *m)
{
    if (scratch_cap < regex_scratch_size(re)) return -1;
    int64_t left = REGEX_MAX_STEPS;  /* steps still allowed (regex_vm.h) */
    uintptr_t a = ((uintptr_t)scratch + 15) & ~(uintptr_t)15;
    struct thread *area = (struct thread *)a;
    struct list clist = {area, 0}, nlist = {area + re->nprog, 0};
    struct vm vm = {.re = re, .s = (const unsigned char *)subject, .len = len, .stack = area + 2 * re->nprog,
                    .mark = (uint32_t *)(area + 3 * (size_t)re->nprog + 1), .gen = 1};
    memset(vm.mark, 0, re->nprog * sizeof(*vm.mark));
    static const size_t none[3] = {REGEX_NONE, REGEX_NONE, REGEX_NONE};  /* a new thread's captures */
    bool matched = false;
    for (size_t pos = 0;; pos++) {
        /* clist: the threads at pos, built under vm.gen */
        if (!matched) {
            bool inside = pos > 0 && pos < len && re->can_skip;
            if (inside && !clist.n) {
                size_t to = skip_to(re, vm.s, pos, len);
                if (to != pos) {
                    pos = to;
                    next_gen(&vm);
                }
            }
            /* the lowest priority: leftmost first; none where no match can begin */
            if (!inside || pos >= len || cls_has(&re->first, vm.s[pos])) left -= add_thread(&vm, &clist, 0, none, pos);
        }
        if (!clist.n && (matched || pos >= len)) break;
        /* every thread here is a step, and so is every pc the next list enters: at most
         * 2 * nprog a byte, checked once a byte (the overshoot is as small) */
        if (left < 0) return REGEX_OVER_BUDGET;
        left -= clist.n;
        next_gen(&vm);
        nlist.n = 0;
        for (uint32_t i = 0; i < clist.n; i++) {
            const struct thread *t = &clist.t[i];
            const struct inst *in = &re->prog[t->pc];
            if (in->op == OP_MATCH) {
                matched = true;
                m->start = t->cap[0];
                m->end = pos;
                m->g1_start = t->cap[1];
                m->g1_end = t->cap[2];
                break;  /* the threads after this one have lower priority */
            }
            if (pos < len && accepts(re, in, vm.s[pos])) left -= add_thread(&vm, &nlist, t->pc + 1, t->cap, pos + 1);
        }
        if (pos >= len) break;  /* every thread at the end was looked at */
        struct list tmp = clist;
        clist = nlist;
        nlist = tmp;
    }
    if (left < 0) return REGEX_OVER_BUDGET;  /* the last byte's steps went over */
    if (matched && (m->g1_start == REGEX_NONE || m->g1_end == REGEX_NONE)) m->g1_start = m->g1_end = REGEX_NONE;
    return matched;
}
