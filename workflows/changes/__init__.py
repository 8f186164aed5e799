"""§4 Change requests (《变更申请》): every collaborating department head confirms (会签), then the bot applies them."""
