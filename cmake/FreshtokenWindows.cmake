# The Windows build (MinGW-w64, cmake/toolchains/mingw-w64-x86_64.cmake).
#
# Debian's header-only nlohmann/json and CLI11 are used from /usr/include through a directory of
# their own (the rest of /usr/include is glibc's and must not reach a Windows compile), and
# GoogleTest is built from Debian's sources in /usr/src/googletest.
if(NOT MINGW)
  message(FATAL_ERROR "The Windows build is verified with MinGW-w64 only "
                      "(cmake/toolchains/mingw-w64-x86_64.cmake)")
endif()

set(FRESHTOKEN_BUILD_MOCK_SERVER OFF CACHE BOOL "" FORCE)
set(FRESHTOKEN_BUILD_BENCH OFF CACHE BOOL "" FORCE)

# Programs and DLLs carry their own C++ runtime (libstdc++, libgcc, winpthread), so that they
# run from any directory, under Wine too, without MinGW's DLLs beside them.
add_link_options(-static)
# Windows 8.1 and later (WinHTTP's automatic proxy, CNG's ECDSA, InetPton).
add_compile_definitions(_WIN32_WINNT=0x0603 WINVER=0x0603 UNICODE _UNICODE NOMINMAX
                        WIN32_LEAN_AND_MEAN)

set(header_only ${PROJECT_BINARY_DIR}/third_party_include)
foreach(dir nlohmann CLI)
  if(EXISTS /usr/include/${dir})
    file(MAKE_DIRECTORY ${header_only})
    file(CREATE_LINK /usr/include/${dir} ${header_only}/${dir} SYMBOLIC)
  endif()
endforeach()
if(NOT EXISTS ${header_only}/nlohmann/json.hpp)
  message(FATAL_ERROR "nlohmann/json not found in /usr/include (apt-get install nlohmann-json3-dev)")
endif()
add_library(nlohmann_json INTERFACE)
target_include_directories(nlohmann_json SYSTEM INTERFACE ${header_only})
add_library(nlohmann_json::nlohmann_json ALIAS nlohmann_json)
if(EXISTS ${header_only}/CLI/CLI.hpp)
  add_library(CLI11 INTERFACE)
  target_include_directories(CLI11 SYSTEM INTERFACE ${header_only})
  add_library(CLI11::CLI11 ALIAS CLI11)
endif()

if(FRESHTOKEN_BUILD_TESTS)
  if(NOT EXISTS /usr/src/googletest/CMakeLists.txt)
    message(FATAL_ERROR "GoogleTest sources not found (apt-get install googletest)")
  endif()
  set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
  # Its CMake project defines the GTest::gtest, GTest::gmock, ... aliases itself.
  add_subdirectory(/usr/src/googletest ${PROJECT_BINARY_DIR}/googletest EXCLUDE_FROM_ALL)
endif()
