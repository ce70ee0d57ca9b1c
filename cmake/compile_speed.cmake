# What keeps the build short (docs/design.md, Building): most of its time went to parsing the
# same headers in every translation unit (the standard library, nlohmann-json, CLI11,
# GoogleTest) and to compiling the same inline functions again in each of them.

# Unity builds: a target's sources are compiled in batches, one translation unit each, so the
# headers are parsed and their inline functions compiled once per batch. Names in anonymous
# namespaces must therefore be unique within a target's batch.
option(BERTH_UNITY "Compile each target's sources in batches (unity build)" ON)
set(CMAKE_UNITY_BUILD ${BERTH_UNITY})
set(CMAKE_UNITY_BUILD_BATCH_SIZE 8)
if(BERTH_UNITY AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC takes every .cpp that a batch includes for a header, and warns of each class of its
  # that uses a type of its anonymous namespace (a test fixture's TEST_F classes, say).
  add_compile_options(-Wno-subobject-linkage)
endif()

# Precompiled headers: one is made per set of compile flags and reused by every target.
option(BERTH_PCH "Precompile the standard library, nlohmann-json and GoogleTest headers" ON)

set(BERTH_PCH_HEADERS
    <algorithm> <array> <atomic> <chrono> <cstdint> <cstring> <filesystem> <functional> <map>
    <memory> <mutex> <optional> <set> <span> <string> <string_view> <system_error> <thread>
    <unordered_map> <utility> <variant> <vector> <nlohmann/json.hpp>)

if(BERTH_PCH)
  add_library(berth_pch OBJECT ${PROJECT_SOURCE_DIR}/cmake/empty.cpp)
  target_link_libraries(berth_pch PRIVATE nlohmann_json::nlohmann_json)
  target_precompile_headers(berth_pch PRIVATE ${BERTH_PCH_HEADERS})
  # The tests' own, with GoogleTest and the streams they use.
  find_package(GTest)
  if(GTest_FOUND)
    add_library(berth_test_pch OBJECT ${PROJECT_SOURCE_DIR}/cmake/empty.cpp)
    target_link_libraries(berth_test_pch PRIVATE nlohmann_json::nlohmann_json GTest::gtest)
    target_precompile_headers(berth_test_pch PRIVATE ${BERTH_PCH_HEADERS} <fstream> <sstream>
                              <stdexcept> <gtest/gtest.h>)
  endif()
endif()

# berth_precompiled_headers(TARGET...): TARGETs reuse the precompiled header.
function(berth_precompiled_headers)
  if(BERTH_PCH)
    foreach(target IN LISTS ARGN)
      target_precompile_headers(${target} REUSE_FROM berth_pch)
    endforeach()
  endif()
endfunction()

# berth_test_precompiled_headers(TARGET...): test TARGETs reuse the tests' precompiled header.
function(berth_test_precompiled_headers)
  if(BERTH_PCH)
    foreach(target IN LISTS ARGN)
      target_precompile_headers(${target} REUSE_FROM berth_test_pch)
    endforeach()
  endif()
endfunction()
