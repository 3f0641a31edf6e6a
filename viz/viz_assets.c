/* viz_assets: the pages' scripts and stylesheet, compiled into the program from their own files
 * (viz/viz_page.css, viz/viz_page.js: helpers every page shares, viz/viz_heatmap.js, viz/viz_map.js,
 * viz/viz_tokstats.js) with the assembler's .incbin, each followed by a NUL so that C sees a
 * string. The Makefile lists them as prerequisites of this object. Paths are relative to the repository root, where make runs the compiler. */

__asm__(".section .rodata\n"
        ".global viz_asset_css\n"
        "viz_asset_css:\n"
        ".incbin \"viz/viz_page.css\"\n"
        ".byte 0\n"
        ".global viz_asset_page_js\n"
        "viz_asset_page_js:\n"
        ".incbin \"viz/viz_page.js\"\n"
        ".byte 0\n"
        ".global viz_asset_heatmap_js\n"
        "viz_asset_heatmap_js:\n"
        ".incbin \"viz/viz_heatmap.js\"\n"
        ".byte 0\n"
        ".global viz_asset_map_js\n"
        "viz_asset_map_js:\n"
        ".incbin \"viz/viz_map.js\"\n"
        ".byte 0\n"
        ".global viz_asset_tokstats_js\n"
        "viz_asset_tokstats_js:\n"
        ".incbin \"viz/viz_tokstats.js\"\n"
        ".byte 0\n"
        ".previous\n");
