# art_add_suite: builds one cmocka suite against the harness (art_harness,
# made in test/CMakeLists.txt) and registers its tests with ctest. Any folder
# with a suite includes this file: test/ and examples/http/.
include_guard(GLOBAL)

set(ART_TEST_TIMEOUT 120 CACHE STRING "Seconds before a test counts as hung")

# art_add_suite(<source> [NAME <name>] [SOURCES <file>...] [LABELS <l>...]
#               [HARNESS <target>])
#
# Builds the executable test_<name> from <source> and the other SOURCES;
# <name> defaults to <source>'s name without its test_ prefix. Each line of
# <source> that starts with ART_TEST(x) becomes the ctest entry <name>.x,
# which runs "test_<name> x" so that a crash or hang names one test. The
# macro registers the same test in the executable; the harness compares the
# two counts (ART_TEST_COUNT), so a test this scan misses fails loudly
# instead of never running. Labels: LABELS (default "core"), plus "threads"
# when the source says ART_SUITE_THREADS. HARNESS (default art_harness)
# names the harness library to link.
function(art_add_suite src)
  cmake_parse_arguments(S "" "NAME;HARNESS" "SOURCES;LABELS" ${ARGN})
  if(NOT S_HARNESS)
    set(S_HARNESS art_harness)
  endif()
  get_filename_component(src ${src} ABSOLUTE)
  if(NOT S_NAME)
    get_filename_component(S_NAME ${src} NAME_WE)
    string(REGEX REPLACE "^test_" "" S_NAME ${S_NAME})
  endif()
  if(NOT S_LABELS)
    set(S_LABELS core)
  endif()
  set(exe test_${S_NAME})
  add_executable(${exe} ${src} ${S_SOURCES})
  target_link_libraries(${exe} PRIVATE ${S_HARNESS})
  # Re-run CMake when the suite changes, so new ART_TEST entries register.
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${src})
  file(READ ${src} text)
  if(text MATCHES "ART_SUITE_THREADS")
    list(APPEND S_LABELS threads)
  endif()
  string(REGEX MATCHALL "\nART_TEST\\([A-Za-z0-9_]+\\)" found "${text}")
  list(LENGTH found count)
  foreach(m ${found})
    string(REGEX REPLACE "\nART_TEST\\(([A-Za-z0-9_]+)\\)" "\\1" test "${m}")
    add_test(NAME ${S_NAME}.${test} COMMAND ${exe} ${test})
    set_tests_properties(${S_NAME}.${test} PROPERTIES
      TIMEOUT ${ART_TEST_TIMEOUT} LABELS "${S_LABELS}"
      ENVIRONMENT "ART_TEST_COUNT=${count}")
  endforeach()
endfunction()
