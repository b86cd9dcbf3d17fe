"""manywheel.policy"""
