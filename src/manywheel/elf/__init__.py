"""manywheel.elf"""
