# How each freshtoken component (sdk, platform, mock_server) becomes libraries.
#
# A component's sources are compiled once, into an OBJECT library, with hidden symbols
# (-fvisibility=hidden -fvisibility-inlines-hidden): only what its headers mark with the
# component's export macro (FRESHTOKEN_API, FRESHTOKEN_PLATFORM_API, FRESHTOKEN_MOCK_SERVER_API,
# from GenerateExportHeader) is exported. Those objects, plus the internal helpers
# (freshtoken_util_objects), then make two libraries:
#
#   CMake target                  exported/alias name          file
#   freshtoken_<c>_shared         freshtoken::<c>              libfreshtoken[_<c>].so.<soversion>
#   freshtoken_<c>                freshtoken::<c>_static       libfreshtoken[_<c>].a
#
# The plain target names are the static libraries because the project's own tests, fuzzers,
# benchmarks and programs link them: they use internals (freshtoken::detail, sdk/src headers)
# that the shared libraries do not export. Applications use freshtoken::<c>.

include(GenerateExportHeader)

# SONAME: while the major version is 0, every minor release may break the ABI, so the SONAME
# carries the minor too (libfreshtoken.so.0.1); from 1.0 on it is the major alone.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(FRESHTOKEN_SOVERSION "0.${PROJECT_VERSION_MINOR}")
else()
  set(FRESHTOKEN_SOVERSION "${PROJECT_VERSION_MAJOR}")
endif()

# Directory for the generated public headers (freshtoken/version.hpp, the export headers).
set(FRESHTOKEN_GENERATED_INCLUDE_DIR ${PROJECT_BINARY_DIR}/include)

# freshtoken_component_objects(<objects target> [BASE_NAME <prefix> MACRO <export macro>
#                              EXPORT_HEADER <path under include/>])
# <BASE_NAME>_STATIC_DEFINE, defined by the static library's users, empties the macro.
# Hidden visibility for an OBJECT library and its export header.
function(freshtoken_component_objects target)
  cmake_parse_arguments(ARG "" "BASE_NAME;EXPORT_HEADER;MACRO" "" ${ARGN})
  set_target_properties(${target} PROPERTIES CXX_VISIBILITY_PRESET hidden
                                             VISIBILITY_INLINES_HIDDEN ON)
  if(ARG_EXPORT_HEADER)
    # Object libraries get no <target>_EXPORTS definition of their own: set the one the
    # generated header tests for "building this library".
    target_compile_definitions(${target} PRIVATE ${target}_EXPORTS)
    generate_export_header(${target}
      BASE_NAME ${ARG_BASE_NAME}
      EXPORT_MACRO_NAME ${ARG_MACRO}
      EXPORT_FILE_NAME ${FRESHTOKEN_GENERATED_INCLUDE_DIR}/${ARG_EXPORT_HEADER})
    target_include_directories(${target} PUBLIC ${FRESHTOKEN_GENERATED_INCLUDE_DIR})
  endif()
endfunction()

# freshtoken_component_libraries(<component> OUTPUT_NAME <name>
#   OBJECTS <object libraries...> INCLUDE_DIR <public include dir>
#   [STATIC_DEFINE <macro>] [DEPENDS <components...>] [PUBLIC_LIBS ...] [PRIVATE_LIBS ...])
# The shared freshtoken_<c>_shared and the static freshtoken_<c> from the same objects, with
# their freshtoken:: aliases.
function(freshtoken_component_libraries component)
  cmake_parse_arguments(ARG "" "OUTPUT_NAME;INCLUDE_DIR;STATIC_DEFINE"
                        "OBJECTS;DEPENDS;PUBLIC_LIBS;PRIVATE_LIBS" ${ARGN})
  set(objects)
  foreach(o ${ARG_OBJECTS})
    list(APPEND objects $<TARGET_OBJECTS:${o}>)
  endforeach()
  foreach(kind shared static)
    if(kind STREQUAL "shared")
      set(target freshtoken_${component}_shared)
      add_library(${target} SHARED ${objects})
      set_target_properties(${target} PROPERTIES
        EXPORT_NAME ${component}
        VERSION ${PROJECT_VERSION}
        SOVERSION ${FRESHTOKEN_SOVERSION})
      add_library(freshtoken::${component} ALIAS ${target})
      set(deps)
      foreach(d ${ARG_DEPENDS})
        list(APPEND deps freshtoken_${d}_shared)
      endforeach()
    else()
      set(target freshtoken_${component})
      add_library(${target} STATIC ${objects})
      set_target_properties(${target} PROPERTIES EXPORT_NAME ${component}_static)
      add_library(freshtoken::${component}_static ALIAS ${target})
      if(ARG_STATIC_DEFINE)
        target_compile_definitions(${target} INTERFACE ${ARG_STATIC_DEFINE})
      endif()
      set(deps)
      foreach(d ${ARG_DEPENDS})
        list(APPEND deps freshtoken_${d})
      endforeach()
    endif()
    set_target_properties(${target} PROPERTIES OUTPUT_NAME ${ARG_OUTPUT_NAME}
                                               LINKER_LANGUAGE CXX)
    target_include_directories(${target} PUBLIC
      $<BUILD_INTERFACE:${ARG_INCLUDE_DIR}>
      $<BUILD_INTERFACE:${FRESHTOKEN_GENERATED_INCLUDE_DIR}>
      $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
    target_compile_features(${target} PUBLIC cxx_std_17)
    target_link_libraries(${target} PUBLIC ${deps} ${ARG_PUBLIC_LIBS} PRIVATE ${ARG_PRIVATE_LIBS})
  endforeach()
endfunction()
