"""manywheel.audit"""
