# Job-request parsing (request_parser, with the inputFile rules) and the JSON Lines reader, as a library of their own
# so their tests and the fuzz target build without the rest of the spool. Included from
# lib/spool/CMakeLists.txt; paths are relative to this file, not to the includer.
add_library(submitd_request STATIC
  ${CMAKE_CURRENT_LIST_DIR}/request_parser.cpp
  ${CMAKE_CURRENT_LIST_DIR}/request_walker.cpp
  ${CMAKE_CURRENT_LIST_DIR}/jsonl_reader.cpp
  ${CMAKE_CURRENT_LIST_DIR}/input_file.cpp)
target_include_directories(submitd_request PUBLIC ${PROJECT_SOURCE_DIR}/lib)
target_link_libraries(submitd_request PUBLIC simdjson::simdjson fmt::fmt)
# simdjson turns on its "development checks" in unoptimised translation units, and they change
# the layout of ondemand::parser. Pin them off for every user of these headers, so a -O0 test
# and an -O2 library never disagree about the object they share.
target_compile_definitions(submitd_request PUBLIC SIMDJSON_DEVELOPMENT_CHECKS=0)
