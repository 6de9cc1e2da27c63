// Placeholder: tests come with the implementation this session.
