"""Voice: talk with her through a pipeline of small processors passing typed frames."""
