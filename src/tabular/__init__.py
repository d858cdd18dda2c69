"""Generic supervised learning on tables: plain typed functions (pandas, scikit-learn).

No luigi and no mlflow in here: the tasks in ``tasks/`` wire files to these functions, and a
fitted model pickles references to them (the package travels with every saved model).
"""
