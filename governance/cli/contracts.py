"""placeholder"""

def register(main):
    pass
