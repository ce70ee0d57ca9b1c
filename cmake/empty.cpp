// The translation unit that the precompiled header is made for (cmake/compile_speed.cmake).
