# cmake -DIN=file -DOUT=header -DNAME=symbol -P EmbedBytes.cmake
# Writes a header with the file's bytes as an array, its length and the
# first 32 hex digits of its SHA-256:
#   static const unsigned char NAME[] = {...};
#   #define NAME_LEN <bytes>
#   #define NAME_SHA256 "<32 hex digits>"
# A byte array rather than a string literal (EmbedText.cmake) because the
# input is machine-written (minified JavaScript): no escaping to get right,
# no trigraph ("??(" is valid JavaScript), no length limit on literals.
file(READ ${IN} hex HEX)
file(SHA256 ${IN} sha)
string(SUBSTRING "${sha}" 0 32 sha)
string(LENGTH "${hex}" hexlen)
math(EXPR len "${hexlen} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
# 16 bytes a line
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" bytes "${bytes}")
if(len EQUAL 0)
  set(bytes "0")  # C has no empty arrays; NAME_LEN stays 0
endif()
file(WRITE ${OUT} "/* generated from ${IN}; do not edit */\n"
                  "static const unsigned char ${NAME}[] = {\n${bytes}\n};\n"
                  "#define ${NAME}_LEN ${len}u\n"
                  "#define ${NAME}_SHA256 \"${sha}\"\n")
