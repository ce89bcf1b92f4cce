# Compiler settings for the project's own targets (never for third-party code).
function(freshtoken_defaults target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
                                           -Wnon-virtual-dtor -Werror)
endfunction()
