# Compiler settings for the project's own targets (never for third-party code).
function(freshtoken_defaults target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
                                           -Wnon-virtual-dtor -Werror)
  # GCC 12's -Wmaybe-uninitialized misfires inside libstdc++ (std::regex, std::function) once
  # the sanitizers instrument the code; the plain build keeps the warning.
  if(FRESHTOKEN_SANITIZE AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized)
  endif()
endfunction()
