"""manywheel.linker"""
