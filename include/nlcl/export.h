/* nlcl/export.h - which symbols libnlcl.so exports.
 *
 * libnlcl is compiled with -fvisibility=hidden, so nothing is exported unless
 * marked. Every public header (in include/nlcl/) wraps its declarations in
 * NLCL_API_BEGIN ... NLCL_API_END, which gives them default visibility (and
 * C linkage for C++ callers): the shared library exports exactly the
 * functions and data the installed headers declare, and none of the internal
 * ones (nlcl's install test compares the two lists). NLCL_API marks
 * a single declaration the same way. With compilers other than GCC and Clang
 * the macros only provide the C linkage.
 */
#ifndef NLCL_EXPORT_H
#define NLCL_EXPORT_H

#if defined(__GNUC__)
#define NLCL_API __attribute__((visibility("default")))
#define NLCL_VISIBILITY_PUSH_ _Pragma("GCC visibility push(default)")
#define NLCL_VISIBILITY_POP_ _Pragma("GCC visibility pop")
#else
#define NLCL_API
#define NLCL_VISIBILITY_PUSH_
#define NLCL_VISIBILITY_POP_
#endif

#ifdef __cplusplus
#define NLCL_API_BEGIN extern "C" { NLCL_VISIBILITY_PUSH_
#define NLCL_API_END NLCL_VISIBILITY_POP_ }
#else
#define NLCL_API_BEGIN NLCL_VISIBILITY_PUSH_
#define NLCL_API_END NLCL_VISIBILITY_POP_
#endif

#endif
