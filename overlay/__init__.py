"""Broadcast graphics for live rooms: layers rendered with Pillow, blended into YUV 4:2:0 frames."""
