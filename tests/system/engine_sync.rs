//! History sync, carbons, receipts, markers, chat states and their spoofing rules (issue 4).
