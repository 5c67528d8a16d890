/* http_chars.c: the table behind http_chars.h. */
#include "http_chars.h"

#define ALNUM                                                                  \
	(TB_HTTP_TCHAR | TB_HTTP_REG_NAME | TB_HTTP_TARGET | TB_HTTP_VALUE)
#define SUB_DELIM	(TB_HTTP_REG_NAME | TB_HTTP_TARGET | TB_HTTP_VALUE)
#define TOKEN_SUB_DELIM (TB_HTTP_TCHAR | SUB_DELIM)
#define TOKEN_ONLY	(TB_HTTP_TCHAR | TB_HTTP_VALUE)
#define PATH_ONLY	(TB_HTTP_TARGET | TB_HTTP_VALUE)

const uint8_t tb_http_char_class[256] = {
	['\t'] = TB_HTTP_VALUE,	  [' '] = TB_HTTP_VALUE,
	['!'] = TOKEN_SUB_DELIM,  ['"'] = TB_HTTP_VALUE,
	['#'] = TOKEN_ONLY,	  ['$'] = TOKEN_SUB_DELIM,
	['%'] = TOKEN_ONLY,	  ['&'] = TOKEN_SUB_DELIM,
	['\''] = TOKEN_SUB_DELIM, ['('] = SUB_DELIM,
	[')'] = SUB_DELIM,	  ['*'] = TOKEN_SUB_DELIM,
	['+'] = TOKEN_SUB_DELIM,  [','] = SUB_DELIM,
	['-'] = TOKEN_SUB_DELIM,  ['.'] = TOKEN_SUB_DELIM,
	['/'] = PATH_ONLY,	  ['0' ... '9'] = ALNUM | TB_HTTP_HEX,
	[':'] = PATH_ONLY,	  [';'] = SUB_DELIM,
	['<'] = TB_HTTP_VALUE,	  ['='] = SUB_DELIM,
	['>'] = TB_HTTP_VALUE,	  ['?'] = PATH_ONLY,
	['@'] = PATH_ONLY,	  ['A' ... 'F'] = ALNUM | TB_HTTP_HEX,
	['G' ... 'Z'] = ALNUM,	  ['['] = TB_HTTP_VALUE,
	['\\'] = TB_HTTP_VALUE,	  [']'] = TB_HTTP_VALUE,
	['^'] = TOKEN_ONLY,	  ['_'] = TOKEN_SUB_DELIM,
	['`'] = TOKEN_ONLY,	  ['a' ... 'f'] = ALNUM | TB_HTTP_HEX,
	['g' ... 'z'] = ALNUM,	  ['{'] = TB_HTTP_VALUE,
	['|'] = TOKEN_ONLY,	  ['}'] = TB_HTTP_VALUE,
	['~'] = TOKEN_SUB_DELIM,  [0x80 ... 0xff] = TB_HTTP_VALUE,
};
