# cmake --install: headers (with the generated version and export headers), the shared and
# static libraries, the programs, the CMake package (freshtokenConfig.cmake, its version file,
# the exported targets) and pkg-config files.
include(CMakePackageConfigHelpers)

set(FRESHTOKEN_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/freshtoken)
set(components sdk platform)
if(TARGET freshtoken_mock_server)
  list(APPEND components mock_server)
  set(FRESHTOKEN_WITH_MOCK_SERVER ON)
else()
  set(FRESHTOKEN_WITH_MOCK_SERVER OFF)
endif()

set(library_targets)
foreach(c ${components})
  list(APPEND library_targets freshtoken_${c}_shared freshtoken_${c})
endforeach()
install(TARGETS ${library_targets}
  EXPORT freshtokenTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

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

install(EXPORT freshtokenTargets NAMESPACE freshtoken:: DESTINATION ${FRESHTOKEN_CMAKE_DIR})
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
file(RELATIVE_PATH FRESHTOKEN_PC_TO_PREFIX
     ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
foreach(pc freshtoken freshtoken-mock-server)
  if(pc STREQUAL "freshtoken-mock-server" AND NOT FRESHTOKEN_WITH_MOCK_SERVER)
    continue()
  endif()
  configure_file(${PROJECT_SOURCE_DIR}/cmake/${pc}.pc.in ${PROJECT_BINARY_DIR}/${pc}.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/${pc}.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endforeach()
