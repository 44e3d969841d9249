/* What the --html report inlines into every page, embedded into the binary at build time
 * (scripts/embed.sh makes build/gen/html_assets.c): dygraphs (libjs-dygraphs) and the page's
 * own stylesheet and script (engine/report_html.css, engine/report_html.js). Each array is
 * NUL-terminated; _len leaves the NUL out. */
#ifndef BARRAGE_REPORT_HTML_ASSETS_H
#define BARRAGE_REPORT_HTML_ASSETS_H

#include <stddef.h>

extern const unsigned char html_dygraph_js[], html_dygraph_css[], html_page_js[], html_page_css[];
extern const size_t html_dygraph_js_len, html_dygraph_css_len, html_page_js_len, html_page_css_len;

#endif
