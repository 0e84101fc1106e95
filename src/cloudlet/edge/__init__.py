"""The HTTP edge: decides what a request is and hands it to the right layer."""
