/* zb_version: the version of zembed, its one home. Every executable's --version prints it
 * (zb_opt_print_version) and the pipeline's info reply carries it. */
#ifndef ZB_VERSION_H
#define ZB_VERSION_H

#define ZB_VERSION "0.1.0"

#endif
