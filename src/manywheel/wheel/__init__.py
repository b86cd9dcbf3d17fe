"""manywheel.wheel"""
