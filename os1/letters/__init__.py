"""The letter studio: personal letters per recipient, their versions, PDFs, books and sending."""
