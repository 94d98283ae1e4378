"""Communities: creation with compensation, update, deletion of everything under one."""
