# cmake --install: headers (with the generated version and export headers), the shared and
# static libraries, the programs, the CMake package (freshtokenConfig.cmake, its version file,
# one exported-targets file per component) and pkg-config files.
include(CMakePackageConfigHelpers)

set(FRESHTOKEN_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/freshtoken)
set(components sdk platform)
if(TARGET freshtoken_mock_server)
  list(APPEND components mock_server)
  set(FRESHTOKEN_WITH_MOCK_SERVER ON)
else()
  set(FRESHTOKEN_WITH_MOCK_SERVER OFF)
endif()

# One export set per component, so that the package config loads (and looks for the link
# dependencies of) only the components an application asks for. A component's file references
# the targets of the components it links (freshtoken::platform -> freshtoken::sdk); the config
# loads those first, from FRESHTOKEN_COMPONENT_DEPENDS_<c>.
set(FRESHTOKEN_COMPONENT_DEPENDS "")
foreach(c ${components})
  install(TARGETS freshtoken_${c}_shared freshtoken_${c}
    EXPORT freshtoken_${c}_targets
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
    INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  install(EXPORT freshtoken_${c}_targets NAMESPACE freshtoken::
          FILE freshtoken-${c}-targets.cmake DESTINATION ${FRESHTOKEN_CMAKE_DIR})
  get_target_property(links freshtoken_${c} LINK_LIBRARIES)
  set(depends)
  foreach(d ${components})
    if(NOT d STREQUAL c AND "freshtoken_${d}" IN_LIST links)
      list(APPEND depends ${d})
    endif()
  endforeach()
  string(APPEND FRESHTOKEN_COMPONENT_DEPENDS "set(_freshtoken_depends_${c} \"${depends}\")\n")
endforeach()

install(DIRECTORY ${PROJECT_SOURCE_DIR}/sdk/include/ ${PROJECT_SOURCE_DIR}/platform/include/
                  ${FRESHTOKEN_GENERATED_INCLUDE_DIR}/
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.hpp")
if(FRESHTOKEN_WITH_MOCK_SERVER)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/mock_server/include/
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.hpp")
endif()

foreach(program freshtoken-mock-server freshtoken-cli)
  if(TARGET ${program})
    install(TARGETS ${program} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  endif()
endforeach()

set(FRESHTOKEN_COMPONENTS "${components}")
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/freshtokenConfig.cmake.in
  ${PROJECT_BINARY_DIR}/freshtokenConfig.cmake INSTALL_DESTINATION ${FRESHTOKEN_CMAKE_DIR})
# 0.x: a minor release may break compatibility, so only the same minor satisfies a request.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(compatibility SameMinorVersion)
else()
  set(compatibility SameMajorVersion)
endif()
write_basic_package_version_file(${PROJECT_BINARY_DIR}/freshtokenConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY ${compatibility})
install(FILES ${PROJECT_BINARY_DIR}/freshtokenConfig.cmake
              ${PROJECT_BINARY_DIR}/freshtokenConfigVersion.cmake
        DESTINATION ${FRESHTOKEN_CMAKE_DIR})

# pkg-config: freshtoken (the SDK with its platform secret stores) and freshtoken-mock-server.
# Paths are relative to ${prefix}, which pkg-config derives from the .pc file's location
# (pcfiledir), so the installed tree can be moved.
#
# What the static libraries link to goes into Libs.private as plain linker flags, not into
# Requires.private: pkg-config (pkgconf and the freedesktop one alike) resolves
# Requires.private for every --cflags and --exists, so it would fail without the dependencies'
# .pc files and hand their include paths (glib's, libsecret's) to every compile, although a
# program that links the shared libraries needs neither and the public headers include none
# of them.

# freshtoken_pc_link_flags(<out-var> <target>): the linker flags for what <target> links
# privately and publicly, as the build found them: imported libraries become -L<dir> -l<name>
# (no -L for the compiler's own library directories), interface targets are followed,
# Threads::Threads is -pthread; freshtoken's own libraries and header-only targets add nothing.
function(freshtoken_pc_link_flags out target)
  set(flags)
  get_target_property(items ${target} LINK_LIBRARIES)
  if(items)
    freshtoken_pc_link_items(flags "${items}")
  endif()
  # A library may appear more than once; its last position is the one that satisfies
  # everything before it in a static link.
  list(REVERSE flags)
  list(REMOVE_DUPLICATES flags)
  list(REVERSE flags)
  list(JOIN flags " " joined)
  set(${out} "${joined}" PARENT_SCOPE)
endfunction()

function(freshtoken_pc_link_items out items)
  set(flags ${${out}})
  foreach(item ${items})
    string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" item "${item}")
    if(item MATCHES "^freshtoken_" OR item MATCHES "^\\$<" OR item STREQUAL "")
      continue()
    elseif(item STREQUAL "Threads::Threads")
      if(NOT WIN32)
        list(APPEND flags -pthread)
      endif()
    elseif(TARGET ${item})
      get_target_property(type ${item} TYPE)
      if(NOT type STREQUAL "INTERFACE_LIBRARY")
        set(location)
        get_target_property(configs ${item} IMPORTED_CONFIGURATIONS)
        foreach(suffix "" ${configs})
          if(suffix)
            set(suffix _${suffix})
          endif()
          get_target_property(location ${item} IMPORTED_LOCATION${suffix})
          if(location)
            break()
          endif()
        endforeach()
        if(location)
          freshtoken_pc_link_items(flags "${location}")
        endif()
      endif()
      get_target_property(options ${item} INTERFACE_LINK_OPTIONS)
      if(options)
        list(APPEND flags ${options})
      endif()
      get_target_property(deps ${item} INTERFACE_LINK_LIBRARIES)
      if(deps)
        freshtoken_pc_link_items(flags "${deps}")
      endif()
    elseif(IS_ABSOLUTE "${item}")
      get_filename_component(dir "${item}" DIRECTORY)
      get_filename_component(name "${item}" NAME)
      string(REGEX REPLACE "^lib" "" name "${name}")
      string(REGEX REPLACE "\\.(so|a|dylib|dll\\.a|lib)(\\.[0-9.]*)?$" "" name "${name}")
      if(NOT dir IN_LIST CMAKE_CXX_IMPLICIT_LINK_DIRECTORIES)
        list(APPEND flags "-L${dir}")
      endif()
      list(APPEND flags "-l${name}")
    elseif(item MATCHES "^-L(.*)$")
      if(NOT CMAKE_MATCH_1 IN_LIST CMAKE_CXX_IMPLICIT_LINK_DIRECTORIES)
        list(APPEND flags "${item}")
      endif()
    elseif(item MATCHES "^-")
      list(APPEND flags "${item}")
    else()
      list(APPEND flags "-l${item}")
    endif()
  endforeach()
  set(${out} ${flags} PARENT_SCOPE)
endfunction()

freshtoken_pc_link_flags(platform_flags freshtoken_platform)
freshtoken_pc_link_flags(sdk_flags freshtoken_sdk)
set(FRESHTOKEN_PC_LIBS_PRIVATE "${platform_flags} ${sdk_flags}")
if(FRESHTOKEN_WITH_MOCK_SERVER)
  freshtoken_pc_link_flags(FRESHTOKEN_PC_MOCK_SERVER_LIBS_PRIVATE freshtoken_mock_server)
  # A mock server built on the SDK needs freshtoken.pc's flags too.
  get_target_property(links freshtoken_mock_server LINK_LIBRARIES)
  if("freshtoken_sdk" IN_LIST links OR "freshtoken_platform" IN_LIST links)
    set(FRESHTOKEN_PC_MOCK_SERVER_REQUIRES "Requires: freshtoken = ${PROJECT_VERSION}")
  else()
    set(FRESHTOKEN_PC_MOCK_SERVER_REQUIRES "")
  endif()
endif()

file(RELATIVE_PATH FRESHTOKEN_PC_TO_PREFIX
     ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
foreach(pc freshtoken freshtoken-mock-server)
  if(pc STREQUAL "freshtoken-mock-server" AND NOT FRESHTOKEN_WITH_MOCK_SERVER)
    continue()
  endif()
  configure_file(${PROJECT_SOURCE_DIR}/cmake/${pc}.pc.in ${PROJECT_BINARY_DIR}/${pc}.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/${pc}.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endforeach()
