"""manywheel.repair"""
