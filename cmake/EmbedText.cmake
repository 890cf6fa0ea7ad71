# cmake -DIN=file -DOUT=header -DNAME=symbol -P EmbedText.cmake
# Writes a header defining `static const char NAME[]` with the file's text,
# so the Lua script stays a readable .lua file in the source tree.
file(READ ${IN} text)
string(REPLACE "\\" "\\\\" text "${text}")
string(REPLACE "\"" "\\\"" text "${text}")
string(REPLACE "\n" "\\n\"\n\"" text "${text}")
file(WRITE ${OUT} "/* generated from ${IN}; do not edit */\nstatic const char ${NAME}[] =\n\"${text}\";\n")
