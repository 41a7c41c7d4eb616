"""A user's own Python shell script, copied into generated/ by pipec build."""

print("sorting drops")
