"""Files: uploads, access-checked downloads with byte ranges, message attachments and their clean-up."""
