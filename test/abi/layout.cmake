# The ABI layout check: records, or compares against test/abi/layout.txt,
# the size and alignment of every public struct, the offset and size of
# every field a caller may touch, and the value of every public enumerator.
#
#   cmake -DMODE=check  [options] -P test/abi/layout.cmake   (the abi.layout test)
#   cmake -DMODE=update [options] -P test/abi/layout.cmake   (rewrite the record)
#
# Options (all optional): CC, the C compiler (cc); INCLUDE_DIR, the public
# headers (include/ of this tree); RECORD, the record (layout.txt beside this
# script); WORK_DIR, where the generated program is built (a folder under
# the current directory).
#
# How: the C preprocessor expands include/asyncrt.h, so macros such as
# ART_HANDLE_FIELDS are seen as the compiler sees them. The part of its
# output that comes from include/ is split into tokens and walked to find
# every struct and union (nested ones included), their member names, and the
# enumerators. What is public follows the headers' rule: types and
# enumerators named art_/ART_ but not art__/ART__, and fields whose name does
# not end in an underscore. A C program generated from that list prints the
# figures with sizeof, _Alignof and offsetof, so a name the walk got wrong
# is a compile error, never a silently wrong figure.
cmake_minimum_required(VERSION 3.18)

get_filename_component(here ${CMAKE_CURRENT_LIST_FILE} DIRECTORY)
if(NOT DEFINED MODE)
  set(MODE check)
endif()
if(NOT MODE MATCHES "^(check|update)$")
  message(FATAL_ERROR "MODE must be check or update, not '${MODE}'")
endif()
if(NOT DEFINED CC)
  set(CC cc)
endif()
if(NOT DEFINED INCLUDE_DIR)
  set(INCLUDE_DIR ${here}/../../include)
endif()
get_filename_component(INCLUDE_DIR ${INCLUDE_DIR} ABSOLUTE)
if(NOT DEFINED RECORD)
  set(RECORD ${here}/layout.txt)
endif()
if(NOT DEFINED WORK_DIR)
  set(WORK_DIR ${CMAKE_CURRENT_BINARY_DIR}/abi-layout)
endif()
file(MAKE_DIRECTORY ${WORK_DIR})

# ---------------------------------------------------------------------------
# 1. Preprocess, and keep the text that came from the public headers.

file(WRITE ${WORK_DIR}/all_headers.c "#include <asyncrt.h>\n")
execute_process(COMMAND ${CC} -E -I${INCLUDE_DIR} ${WORK_DIR}/all_headers.c
  OUTPUT_VARIABLE pp ERROR_VARIABLE pp_err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${CC} -E failed on the public headers:\n${pp_err}")
endif()

# ';' separates CMake list items and '[' ']' group them, so all three become
# tokens of their own before the text is cut into lines and tokens.
string(REPLACE ";" " @S " pp "${pp}")
string(REPLACE "[" " @L " pp "${pp}")
string(REPLACE "]" " @R " pp "${pp}")
string(REPLACE "\n" ";" pp_lines "${pp}")
set(text "")
set(keep OFF)
foreach(line IN LISTS pp_lines)
  if(line MATCHES "^# [0-9]+ \"([^\"]*)\"")
    string(FIND "${CMAKE_MATCH_1}" "${INCLUDE_DIR}/" at)
    if(at EQUAL 0)
      set(keep ON)
    else()
      set(keep OFF)
    endif()
  elseif(keep AND NOT line MATCHES "^#")
    string(APPEND text " ${line}")
  endif()
endforeach()
# String and character literals (in an inline function, an attribute) may
# hold braces or semicolons; they declare nothing, so each becomes one token.
string(REGEX REPLACE "\"([^\"\\]|\\.)*\"" " @Q " text "${text}")
string(REGEX REPLACE "'([^'\\]|\\.)*'" " @Q " text "${text}")
string(REGEX MATCHALL
  "[A-Za-z_][A-Za-z0-9_]*|[0-9][A-Za-z0-9_.]*|@[SLRQ]|[^ \t\r\n]"
  tokens "${text}")

# ---------------------------------------------------------------------------
# 2. Walk the tokens. Each brace level d has a kind (top, record, enum or
# other, such as a function body), the tokens of the declaration being read
# at that level (decl_d), and for a record the fields found so far
# (fields_d). A closed block leaves the token @B in its parent's
# declaration, with what it found in block_kind_d / block_fields_d, so that
# "union { ... } data;" and "typedef struct { ... } art_buf_t;" are read as
# one declaration.

set(c_keywords "const;volatile;struct;union;enum;unsigned;signed;int;char;short;long;float;double;void;typedef;static;inline;extern")

# Sets ${out} to the names declared by the tokens of one member declaration
# (type first, then declarators separated by commas): "a", "b" for
# "int a, b[4]", "cb" for "void (*cb)(int)". A bit-field comes back as
# "bitfield:name", since offsetof cannot name it. A declarator it cannot
# read stops the script, so that no member goes unrecorded in silence.
function(art_declarator_names out)
  # Alignment and attribute specifiers name nothing: drop them, with their
  # parenthesised arguments, before looking for names.
  set(tokens "")
  set(skip 0)
  set(skipping OFF)
  foreach(t IN LISTS ARGN)
    if(t MATCHES "^(_Alignas|alignas|__attribute__|__attribute|__extension__)$")
      set(skipping ON)
      if(t STREQUAL "__extension__")
        set(skipping OFF)
      endif()
    elseif(skipping AND t STREQUAL "(")
      math(EXPR skip "${skip} + 1")
    elseif(skipping AND t STREQUAL ")")
      math(EXPR skip "${skip} - 1")
      if(skip EQUAL 0)
        set(skipping OFF)
      endif()
    elseif(NOT skipping)
      list(APPEND tokens "${t}")
    endif()
  endforeach()
  set(names "")
  set(piece "")
  set(nest 0)
  foreach(t IN LISTS tokens ITEMS ",")
    if(t STREQUAL "(" OR t STREQUAL "@L")
      math(EXPR nest "${nest} + 1")
    elseif(t STREQUAL ")" OR t STREQUAL "@R")
      math(EXPR nest "${nest} - 1")
    endif()
    if(t STREQUAL "," AND nest EQUAL 0)
      set(name "")
      list(FIND piece ":" colon)
      list(FIND piece "(" paren)
      if(NOT colon EQUAL -1)
        math(EXPR colon "${colon} - 1")
        if(colon GREATER_EQUAL 0)
          list(GET piece ${colon} name)
          set(name "bitfield:${name}")
        else()
          set(name "bitfield:") # unnamed padding
        endif()
      elseif(NOT paren EQUAL -1)
        # A function pointer: the name follows the first "(" and its "*"s.
        set(after_paren OFF)
        foreach(p IN LISTS piece)
          if(p STREQUAL "(")
            set(after_paren ON)
          elseif(after_paren AND p STREQUAL "*")
          elseif(after_paren AND p MATCHES "^[A-Za-z_][A-Za-z0-9_]*$")
            set(name ${p})
            break()
          else()
            set(after_paren OFF)
          endif()
        endforeach()
      else()
        # The last identifier before any array bound.
        foreach(p IN LISTS piece)
          if(p STREQUAL "@L")
            break()
          endif()
          if(p MATCHES "^[A-Za-z_][A-Za-z0-9_]*$")
            list(FIND c_keywords ${p} kw)
            if(kw EQUAL -1)
              set(name ${p})
            endif()
          endif()
        endforeach()
      endif()
      if(name STREQUAL "")
        string(REPLACE ";" " " piece "${piece}")
        message(FATAL_ERROR "test/abi/layout.cmake cannot find the name "
          "declared by \"${piece}\" in a struct of the public headers; "
          "teach art_declarator_names this form")
      endif()
      if(NOT name STREQUAL "bitfield:")
        list(APPEND names ${name})
      endif()
      set(piece "")
    else()
      list(APPEND piece "${t}")
    endif()
  endforeach()
  set(${out} "${names}" PARENT_SCOPE)
endfunction()

set(depth 0)
set(kind_0 top)
set(decl_0 "")
set(records "")     # record ids in the order found
set(enumerators "")
set(typedef_tags "") # "tag=name" for typedef struct tag name;

foreach(t IN LISTS tokens)
  set(k ${kind_${depth}})
  if(t STREQUAL "{")
    # What opens here: a struct or union body when the declaration so far
    # ends in "struct" or "struct tag" (likewise enum), else anything else.
    set(new_kind other)
    set(new_tag "")
    if(k STREQUAL "top" OR k STREQUAL "record")
      set(d ${decl_${depth}})
      list(LENGTH d n)
      if(n GREATER 0)
        math(EXPR i "${n} - 1")
        list(GET d ${i} last)
        set(before "")
        if(n GREATER 1)
          math(EXPR i "${n} - 2")
          list(GET d ${i} before)
        endif()
        if(last MATCHES "^(struct|union)$")
          set(new_kind record)
        elseif(before MATCHES "^(struct|union)$")
          set(new_kind record)
          set(new_tag ${last})
        elseif(last STREQUAL "enum" OR before STREQUAL "enum")
          set(new_kind enum)
        endif()
      endif()
    endif()
    math(EXPR depth "${depth} + 1")
    set(kind_${depth} ${new_kind})
    set(tag_${depth} "${new_tag}")
    set(decl_${depth} "")
    set(fields_${depth} "")
    set(enum_expect_${depth} ON)
    set(enum_nest_${depth} 0)
  elseif(t STREQUAL "}")
    set(closed_kind ${k})
    set(closed_fields "${fields_${depth}}")
    set(closed_tag "${tag_${depth}}")
    math(EXPR depth "${depth} - 1")
    if(closed_kind STREQUAL "other" AND kind_${depth} STREQUAL "top")
      # The end of a function definition: no ';' follows.
      set(decl_${depth} "")
    else()
      list(APPEND decl_${depth} "@B")
      set(block_kind_${depth} ${closed_kind})
      set(block_fields_${depth} "${closed_fields}")
      set(block_tag_${depth} "${closed_tag}")
    endif()
  elseif(t STREQUAL "@S")
    set(d ${decl_${depth}})
    list(FIND d "@B" b)
    list(LENGTH d n)
    if(n EQUAL 0)
      # A ';' with nothing before it: nothing is declared.
    elseif(k STREQUAL "record")
      # One member declaration of the record being read.
      set(found "")
      if(b EQUAL -1)
        art_declarator_names(names ${d})
        list(APPEND found ${names})
      else()
        math(EXPR b "${b} + 1")
        set(after "")
        if(b LESS n)
          list(SUBLIST d ${b} -1 after)
        endif()
        if(after STREQUAL "")
          # An anonymous struct or union: its fields belong to this record.
          list(APPEND found ${block_fields_${depth}})
        else()
          art_declarator_names(names ${after})
          foreach(name IN LISTS names)
            list(APPEND found ${name})
            foreach(f IN LISTS block_fields_${depth})
              list(APPEND found ${name}.${f})
            endforeach()
          endforeach()
        endif()
      endif()
      list(APPEND fields_${depth} ${found})
    elseif(k STREQUAL "top")
      list(GET d 0 first)
      if(NOT b EQUAL -1 AND block_kind_${depth} STREQUAL "record")
        math(EXPR b "${b} + 1")
        set(id "")
        if(first STREQUAL "typedef" AND b LESS n)
          list(GET d ${b} id)
        elseif(NOT block_tag_${depth} STREQUAL "")
          set(id "tag:${block_tag_${depth}}")
        endif()
        if(NOT id STREQUAL "")
          list(APPEND records ${id})
          set(record_fields_${id} "${block_fields_${depth}}")
          if(first STREQUAL "typedef" AND NOT block_tag_${depth} STREQUAL "")
            list(APPEND typedef_tags "${block_tag_${depth}}=${id}")
          endif()
        endif()
      elseif(b EQUAL -1 AND n EQUAL 4 AND first STREQUAL "typedef")
        list(GET d 1 what)
        list(GET d 2 tag)
        list(GET d 3 name)
        if(what MATCHES "^(struct|union)$")
          list(APPEND typedef_tags "${tag}=${name}")
        endif()
      endif()
    endif()
    set(decl_${depth} "")
  else()
    list(APPEND decl_${depth} "${t}")
    if(k STREQUAL "enum")
      # An enumerator is the first identifier of each comma-separated item.
      if(t STREQUAL "(")
        math(EXPR enum_nest_${depth} "${enum_nest_${depth}} + 1")
      elseif(t STREQUAL ")")
        math(EXPR enum_nest_${depth} "${enum_nest_${depth}} - 1")
      elseif(t STREQUAL "," AND enum_nest_${depth} EQUAL 0)
        set(enum_expect_${depth} ON)
      elseif(enum_expect_${depth} AND t MATCHES "^[A-Za-z_]")
        list(APPEND enumerators ${t})
        set(enum_expect_${depth} OFF)
      endif()
    endif()
  endif()
endforeach()

# Names: a record known only by its tag takes its typedef name when it has
# one. Then keep what is public.
set(public_records "")
foreach(id IN LISTS records)
  set(name ${id})
  if(id MATCHES "^tag:(.*)$")
    set(tag ${CMAKE_MATCH_1})
    set(name "struct ${tag}")
    foreach(pair IN LISTS typedef_tags)
      if(pair MATCHES "^${tag}=(.*)$")
        set(name ${CMAKE_MATCH_1})
      endif()
    endforeach()
  endif()
  string(REGEX REPLACE "^struct " "" bare "${name}")
  if(bare MATCHES "^art_" AND NOT bare MATCHES "^art__")
    list(APPEND public_records "${name}")
    set(public_fields_${bare} "")
    foreach(f IN LISTS record_fields_${id})
      # Public when no part of the name (data.fd) ends in an underscore.
      if(NOT f MATCHES "_$" AND NOT f MATCHES "_\\.")
        if(f MATCHES "bitfield:")
          string(REPLACE "bitfield:" "" f "${f}")
          message(FATAL_ERROR "${bare} has the public bit-field "
            "${f}: a bit-field has no offset this check can record, and "
            "its layout is the compiler's choice. Make it a whole field, or "
            "private (a name ending in '_').")
        endif()
        list(APPEND public_fields_${bare} ${f})
      endif()
    endforeach()
  endif()
endforeach()
list(REMOVE_DUPLICATES public_records)
list(SORT public_records)
set(public_enumerators "")
foreach(e IN LISTS enumerators)
  if(e MATCHES "^ART_" AND NOT e MATCHES "^ART__")
    list(APPEND public_enumerators ${e})
  endif()
endforeach()
list(REMOVE_DUPLICATES public_enumerators)
list(SORT public_enumerators)

# A walk that went wrong tends to find nothing; these fields and constants
# of the loop core have been public from the start, so missing one means
# the walk, not the headers, needs fixing.
foreach(want "art_handle_t:data" "art_handle_t:loop" "art_handle_t:type"
    "art_req_t:data" "art_req_t:loop" "art_buf_t:base" "art_buf_t:len")
  string(REPLACE ":" ";" want "${want}")
  list(GET want 0 type)
  list(GET want 1 field)
  list(FIND public_fields_${type} ${field} at)
  if(at EQUAL -1)
    message(FATAL_ERROR "test/abi/layout.cmake found no field ${type}.${field} "
      "in the headers: its header walk needs fixing")
  endif()
endforeach()
list(FIND public_enumerators ART_RUN_DEFAULT at)
if(at EQUAL -1)
  message(FATAL_ERROR "test/abi/layout.cmake found no enumerator "
    "ART_RUN_DEFAULT in the headers: its header walk needs fixing")
endif()

# ---------------------------------------------------------------------------
# 3. Generate the program that prints the figures, build it twice (once as
# a strict C11 program, once with the feature macros a GNU program may set,
# which must not move anything), and run both.

set(src "/* Generated by test/abi/layout.cmake. */\n")
string(APPEND src [=[
#include <asyncrt.h>
#include <stddef.h>
#include <stdio.h>

#if defined(__x86_64__)
#define ARCH "x86_64"
#elif defined(__aarch64__)
#define ARCH "aarch64"
#elif defined(__i386__)
#define ARCH "i386"
#elif defined(__arm__)
#define ARCH "arm"
#elif defined(__riscv)
#define ARCH "riscv"
#elif defined(__powerpc64__)
#define ARCH "ppc64"
#elif defined(__s390x__)
#define ARCH "s390x"
#else
#define ARCH "unknown"
#endif

/* T is the type, N its name without "struct ", f a field. */
#define R(T, N)                                                                \
  printf("struct %s size %zu align %zu\n", N, sizeof(T), _Alignof(T));
#define F(T, N, f)                                                             \
  printf("field %s.%s offset %zu size %zu\n", N, #f, offsetof(T, f),           \
         sizeof(((T *)0)->f));
#define E(e) printf("enum %s %lld\n", #e, (long long)(e));

int main(void) {
  printf("abi_version %d\n", ART_ABI_VERSION);
  printf("target %s %zu-bit\n", ARCH, sizeof(void *) * 8);
]=])
set(nfields 0)
foreach(r IN LISTS public_records)
  string(REGEX REPLACE "^struct " "" bare "${r}")
  string(APPEND src "  R(${r}, \"${bare}\")\n")
  foreach(f IN LISTS public_fields_${bare})
    string(APPEND src "  F(${r}, \"${bare}\", ${f})\n")
    math(EXPR nfields "${nfields} + 1")
  endforeach()
endforeach()
foreach(e IN LISTS public_enumerators)
  string(APPEND src "  E(${e})\n")
endforeach()
string(APPEND src "  return 0;\n}\n")
file(WRITE ${WORK_DIR}/layout_gen.c "${src}")

set(variant_flags_strict -std=c11)
set(variant_flags_gnu -std=gnu11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64
  -D_TIME_BITS=64)
foreach(variant strict gnu)
  execute_process(COMMAND ${CC} ${variant_flags_${variant}} -I${INCLUDE_DIR}
    ${WORK_DIR}/layout_gen.c -o ${WORK_DIR}/layout_${variant}
    OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "Building ${WORK_DIR}/layout_gen.c failed. When "
      "the headers themselves compile (the abi.header_* tests), a name in "
      "it that is not in the headers means the header walk in "
      "test/abi/layout.cmake went wrong.\n${err}")
  endif()
  execute_process(COMMAND ${WORK_DIR}/layout_${variant}
    OUTPUT_VARIABLE layout_${variant} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${WORK_DIR}/layout_${variant} exited with ${rc}")
  endif()
endforeach()
if(NOT layout_strict STREQUAL layout_gnu)
  file(WRITE ${WORK_DIR}/strict.txt "${layout_strict}")
  file(WRITE ${WORK_DIR}/gnu.txt "${layout_gnu}")
  message(FATAL_ERROR "The public layout depends on the feature macros a "
    "program is compiled with (compare ${WORK_DIR}/strict.txt with "
    "${WORK_DIR}/gnu.txt): a struct uses a type whose size those macros "
    "change, and callers and the library may disagree on it.")
endif()
set(current "${layout_strict}")
list(LENGTH public_records nrecords)
list(LENGTH public_enumerators nenums)
set(summary "${nrecords} structs, ${nfields} fields, ${nenums} enumerators")

# ---------------------------------------------------------------------------
# 4. Compare with the record, or rewrite it.

# Reads layout text into ${prefix}_keys and one variable ${prefix}_<key> per
# line. A key is the line's first word, plus its second one for struct,
# field and enum lines; comment lines start with '#'.
function(art_read_layout prefix text)
  string(REPLACE "\n" ";" lines "${text}")
  set(keys "")
  foreach(line IN LISTS lines)
    if(line STREQUAL "" OR line MATCHES "^#")
      continue()
    endif()
    if(line MATCHES "^(struct|field|enum) ([^ ]+) ?(.*)$")
      set(key "${CMAKE_MATCH_1}_${CMAKE_MATCH_2}")
      set(value "${CMAKE_MATCH_3}")
    elseif(line MATCHES "^([^ ]+) ?(.*)$")
      set(key "${CMAKE_MATCH_1}")
      set(value "${CMAKE_MATCH_2}")
    endif()
    list(APPEND keys ${key})
    set(${prefix}_${key} "${value}" PARENT_SCOPE)
  endforeach()
  set(${prefix}_keys "${keys}" PARENT_SCOPE)
endfunction()

# Sets changes to the lines that say what differs between the record (rec_)
# and the headers (cur_), and added to the number of entries only the
# headers have.
function(art_compare_layouts)
  set(lines "")
  set(n_added 0)
  set(n_other 0)
  foreach(key IN LISTS rec_keys)
    if(key MATCHES "^(abi_version|target)$")
      continue()
    endif()
    string(REGEX REPLACE "^(struct|field|enum)_" "\\1 " shown "${key}")
    if(NOT DEFINED cur_${key})
      list(APPEND lines "  removed: ${shown} (was ${rec_${key}})")
      math(EXPR n_other "${n_other} + 1")
    elseif(NOT cur_${key} STREQUAL rec_${key})
      list(APPEND lines
        "  changed: ${shown}: ${rec_${key}} -> ${cur_${key}}")
      math(EXPR n_other "${n_other} + 1")
    endif()
  endforeach()
  foreach(key IN LISTS cur_keys)
    if(NOT DEFINED rec_${key})
      string(REGEX REPLACE "^(struct|field|enum)_" "\\1 " shown "${key}")
      list(APPEND lines "  added: ${shown} ${cur_${key}}")
      math(EXPR n_added "${n_added} + 1")
    endif()
  endforeach()
  string(REPLACE ";" "\n" lines "${lines}")
  set(changes "${lines}" PARENT_SCOPE)
  set(n_added ${n_added} PARENT_SCOPE)
  set(n_other ${n_other} PARENT_SCOPE)
endfunction()

art_read_layout(cur "${current}")
set(record_text "")
if(EXISTS ${RECORD})
  file(READ ${RECORD} record_text)
endif()
art_read_layout(rec "${record_text}")
art_compare_layouts()
if(changes STREQUAL "")
  set(changes_or_none "  nothing")
else()
  set(changes_or_none "${changes}")
endif()

set(regenerate "cmake --build <build dir> --target art_abi_record, or "
  "without a build: cmake -DMODE=update -P test/abi/layout.cmake")
string(CONCAT regenerate ${regenerate})

if(MODE STREQUAL "update")
  string(REPLACE "\n" ";" current_lines "${current}")
  list(GET current_lines 0 first_line)
  list(REMOVE_AT current_lines 0)
  string(REPLACE ";" "\n" rest "${current_lines}")
  file(WRITE ${RECORD} "${first_line}
# The public layout of libasyncrt for the ABI version above: struct sizes and
# alignments, offsets and sizes of the fields callers may touch, enumerator
# values. The abi.layout test fails when the headers no longer match it.
# Generated by test/abi/layout.cmake; regenerate it with
#   cmake --build <build dir> --target art_abi_record
# or, without a build directory,
#   cmake -DMODE=update -P test/abi/layout.cmake
# once the change is known to be intended (docs/design.md, \"ABI and
# versioning\", says when ART_ABI_VERSION must move first).
${rest}")
  if(changes STREQUAL "")
    message(STATUS "${RECORD}: unchanged (${summary})")
  else()
    message(STATUS "${RECORD} rewritten (${summary}); what changed:\n${changes}")
  endif()
  return()
endif()

if(NOT EXISTS ${RECORD})
  message(FATAL_ERROR "There is no record ${RECORD}; create it with "
    "${regenerate}.")
endif()
if(NOT rec_target STREQUAL cur_target)
  message(STATUS "abi.layout skipped: ${RECORD} was recorded on "
    "'${rec_target}', this build targets '${cur_target}'; the record holds "
    "one target's figures")
  return()
endif()
if(NOT rec_abi_version STREQUAL cur_abi_version)
  message(FATAL_ERROR "${RECORD} was recorded for ABI version "
    "${rec_abi_version}, the headers say ART_ABI_VERSION ${cur_abi_version}. "
    "Regenerate the record for the new ABI version: ${regenerate}."
    "\nWhat differs from the record:\n${changes_or_none}")
endif()
if(changes STREQUAL "")
  message(STATUS "ABI ${cur_abi_version} layout matches ${RECORD}: "
    "${summary}")
  return()
endif()
if(n_other EQUAL 0)
  message(FATAL_ERROR "New public structs, fields or enumerators are not in "
    "${RECORD} yet:\n${changes}\nAdditions that move nothing already "
    "recorded keep the ABI: ART_ABI_VERSION need not change. Record them: "
    "${regenerate}.")
endif()
message(FATAL_ERROR "The public layout changed while ART_ABI_VERSION is "
  "still ${cur_abi_version}:\n${changes}\nA program compiled against the "
  "recorded layout would read and write the wrong memory in this library. "
  "If the change is not intended, undo it (keep private state in fields "
  "ending in '_', and public fields where they are). If it is intended, "
  "move ART_ABI_VERSION in include/asyncrt/version.h unless that ABI "
  "version has not been released yet (docs/design.md, \"ABI and "
  "versioning\"), then regenerate the record: ${regenerate}.")
